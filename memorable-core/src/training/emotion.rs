//! Training the text emotion classifier (`memorable train emotion`): LoRA adapters on the top
//! `adapt_layers` layers of the MiniLM encoder plus a head, on GoEmotions, with candle-nn's
//! AdamW and a binary cross-entropy loss.
//!
//! The frozen lower layers are run once per text and their token states cached in memory
//! (about 1.4 GB for the 43k training texts), so each step only runs the adapted layers
//! forward and backward. With `adapt_layers = 0` the same procedure trains a head on the
//! frozen sentence embedding (the "frozen probe" baseline).
//!
//! Reproducible: one seed drives the split, the initial weights, the batch order and every
//! dropout mask (candle's CPU random source cannot be seeded, so none of it comes from
//! there). Rows held out of training (a slice of train, or dev) pick the best evaluation
//! (early stopping) and the per-label thresholds; the classifier is then scored on dev
//! through the same inference path users run, and those numbers go into the manifest.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Linear, Optimizer, ParamsAdamW};

use super::config::{EmotionTrainConfig, TrainProgress, TuneOn};
use super::goemotions::{self, LabelledTexts};
use crate::error::{Error, Result};
use crate::models::bert_lora::{Dropout, LayerLora, LoraBert, LoraPair, Mode, SplitMix};
use crate::models::candle_bert::{length_order, mean_pool, tokenize, SentenceBertDir};
use crate::models::emotion_adapter::{
    lora_a_name, lora_b_name, sha256_hex, AdapterEmotionClassifier, ClassifierOptions, Head,
    HEAD_HIDDEN_BIAS, HEAD_HIDDEN_WEIGHT, HEAD_OUT_BIAS, HEAD_OUT_WEIGHT,
};
use crate::models::emotion_manifest::{
    AdapterSpec, DataRecord, EmbedderRef, EmotionManifest, Metrics, TrainingRecord, ADAPTER_FILE, FORMAT,
    FORMAT_VERSION,
};
use crate::models::emotion_metrics::{evaluate, tune_global, tune_per_label};
use crate::models::EmotionClassifier;

fn ce(e: candle_core::Error) -> Error {
    Error::Model(format!("training: {e}"))
}

/// Token states of many texts after the frozen layers, packed without padding.
pub(crate) struct States {
    dim: usize,
    offsets: Vec<usize>,
    pub(crate) lens: Vec<usize>,
    data: Vec<f32>,
}

impl States {
    pub(crate) fn compute(
        bert: &LoraBert,
        tokens: &[Vec<u32>],
        split: usize,
        tick: &mut dyn FnMut(u64),
    ) -> candle_core::Result<States> {
        let dim = bert.hidden;
        let lens: Vec<usize> = tokens.iter().map(Vec::len).collect();
        let mut offsets = Vec::with_capacity(lens.len());
        let mut total = 0;
        for &l in &lens {
            offsets.push(total);
            total += l * dim;
        }
        let mut data = vec![0f32; total];
        for chunk in length_order(tokens).chunks(64) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| tokens[i].as_slice()).collect();
            let (ids, mask) = crate::models::candle_bert::pad_batch(&batch, bert.device())?;
            let bias = LoraBert::attention_bias(&mask)?;
            let h = bert.run(bert.embed(&ids)?, &bias, 0..split, &[], Mode::Infer, None)?;
            let h = h.to_vec3::<f32>()?;
            for (row, &i) in chunk.iter().enumerate() {
                for (t, state) in h[row].iter().take(lens[i]).enumerate() {
                    data[offsets[i] + t * dim..offsets[i] + (t + 1) * dim].copy_from_slice(state);
                }
            }
            tick(chunk.len() as u64);
        }
        Ok(States { dim, offsets, lens, data })
    }

    /// Padded states (n, len, dim) and mask (n, len) of the texts at `idx`.
    pub(crate) fn batch(&self, idx: &[usize], device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
        let len = idx.iter().map(|&i| self.lens[i]).max().unwrap_or(0);
        let (n, d) = (idx.len(), self.dim);
        let mut x = vec![0f32; n * len * d];
        let mut mask = vec![0u32; n * len];
        for (row, &i) in idx.iter().enumerate() {
            let l = self.lens[i];
            x[row * len * d..(row * len + l) * d]
                .copy_from_slice(&self.data[self.offsets[i]..self.offsets[i] + l * d]);
            mask[row * len..row * len + l].fill(1);
        }
        Ok((Tensor::from_vec(x, (n, len, d), device)?, Tensor::from_vec(mask, (n, len), device)?))
    }

    fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        w.write_all(&(self.dim as u64).to_le_bytes())?;
        w.write_all(&(self.lens.len() as u64).to_le_bytes())?;
        for &l in &self.lens {
            w.write_all(&(l as u32).to_le_bytes())?;
        }
        for v in &self.data {
            w.write_all(&v.to_le_bytes())?;
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(tmp, path)
    }

    fn load(path: &Path) -> std::io::Result<States> {
        let mut r = std::io::BufReader::new(std::fs::File::open(path)?);
        let mut u64b = [0u8; 8];
        r.read_exact(&mut u64b)?;
        let dim = u64::from_le_bytes(u64b) as usize;
        r.read_exact(&mut u64b)?;
        let n = u64::from_le_bytes(u64b) as usize;
        let mut lens = Vec::with_capacity(n);
        let mut u32b = [0u8; 4];
        for _ in 0..n {
            r.read_exact(&mut u32b)?;
            lens.push(u32::from_le_bytes(u32b) as usize);
        }
        let mut offsets = Vec::with_capacity(n);
        let mut total = 0;
        for &l in &lens {
            offsets.push(total);
            total += l * dim;
        }
        let mut bytes = vec![0u8; total * 4];
        r.read_exact(&mut bytes)?;
        let data = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Ok(States { dim, offsets, lens, data })
    }
}

/// The trainable weights: LoRA pairs per adapted layer and the head, as candle `Var`s.
struct Trainable {
    adapter_vars: Vec<(String, Var)>,
    head_vars: Vec<(String, Var)>,
    /// Adapted layer indices, bottom first.
    layers: Vec<usize>,
}

impl Trainable {
    fn init(
        cfg: &EmotionTrainConfig,
        bert: &LoraBert,
        priors: &[f64],
        device: &Device,
    ) -> candle_core::Result<Self> {
        let mut rng = SplitMix::new(cfg.seed ^ 0x5EED_1417);
        let mut uniform = |shape: (usize, usize), bound: f32| -> candle_core::Result<Var> {
            let data: Vec<f32> =
                (0..shape.0 * shape.1).map(|_| (rng.next_f32() * 2.0 - 1.0) * bound).collect();
            Var::from_vec(data, shape, device)
        };
        let total = bert.layers().len();
        let layers: Vec<usize> = (total - cfg.adapt_layers..total).collect();
        let mut adapter_vars = Vec::new();
        for &l in &layers {
            for &p in &cfg.projections {
                let (inp, out) = p.shape(bert.hidden, bert.intermediate);
                // As in LoRA: A random (Kaiming-uniform bound), B zero, so training starts
                // exactly at the pretrained encoder.
                adapter_vars.push((lora_a_name(l, p), uniform((cfg.rank, inp), 1.0 / (inp as f32).sqrt())?));
                adapter_vars.push((lora_b_name(l, p), Var::zeros((out, cfg.rank), DType::F32, device)?));
            }
        }
        let labels = priors.len();
        let mut head_vars = Vec::new();
        let mut head_in = bert.hidden;
        if cfg.head_hidden > 0 {
            head_vars.push((
                HEAD_HIDDEN_WEIGHT.to_owned(),
                uniform((cfg.head_hidden, head_in), 1.0 / (head_in as f32).sqrt())?,
            ));
            head_vars.push((HEAD_HIDDEN_BIAS.to_owned(), Var::zeros(cfg.head_hidden, DType::F32, device)?));
            head_in = cfg.head_hidden;
        }
        head_vars
            .push((HEAD_OUT_WEIGHT.to_owned(), uniform((labels, head_in), 1.0 / (head_in as f32).sqrt())?));
        // Start each label's bias at its prior log-odds: rare labels begin rare.
        let bias: Vec<f32> = priors.iter().map(|&p| (p / (1.0 - p)).ln() as f32).collect();
        head_vars.push((HEAD_OUT_BIAS.to_owned(), Var::from_vec(bias, labels, device)?));
        Ok(Trainable { adapter_vars, head_vars, layers })
    }

    fn all(&self) -> impl Iterator<Item = &(String, Var)> {
        self.adapter_vars.iter().chain(&self.head_vars)
    }

    fn tensor(&self, name: &str, detach: bool) -> Tensor {
        let v = &self.all().find(|(n, _)| n == name).expect("known tensor").1;
        if detach {
            v.as_detached_tensor()
        } else {
            v.as_tensor().clone()
        }
    }

    /// Adapters and head over the current values (`detach` for evaluation: no graph).
    fn modules(&self, cfg: &EmotionTrainConfig, detach: bool) -> (Vec<LayerLora>, Head) {
        let scale = cfg.alpha / cfg.rank.max(1) as f64;
        let adapters = self
            .layers
            .iter()
            .map(|&l| {
                let mut lora = LayerLora::default();
                for &p in &cfg.projections {
                    let (a, b) =
                        (self.tensor(&lora_a_name(l, p), detach), self.tensor(&lora_b_name(l, p), detach));
                    lora.set(p, LoraPair { a, b, scale });
                }
                lora
            })
            .collect();
        let hidden = (cfg.head_hidden > 0).then(|| {
            Linear::new(self.tensor(HEAD_HIDDEN_WEIGHT, detach), Some(self.tensor(HEAD_HIDDEN_BIAS, detach)))
        });
        let out = Linear::new(self.tensor(HEAD_OUT_WEIGHT, detach), Some(self.tensor(HEAD_OUT_BIAS, detach)));
        (adapters, Head { hidden, out })
    }

    fn snapshot(&self) -> candle_core::Result<HashMap<String, Tensor>> {
        self.all().map(|(n, v)| Ok((n.clone(), v.as_tensor().copy()?))).collect()
    }

    fn restore(&self, snap: &HashMap<String, Tensor>) -> candle_core::Result<()> {
        for (n, v) in self.all() {
            v.set(&snap[n])?;
        }
        Ok(())
    }
}

/// Numerically stable binary cross-entropy on logits, averaged over every (text, label):
/// `(1 - t)·x + (1 + (w - 1)·t)·softplus(-x)` with positive weights `w` per label.
pub(crate) fn bce_with_logits(
    logits: &Tensor,
    targets: &Tensor,
    pos_weight: Option<&Tensor>,
) -> candle_core::Result<Tensor> {
    let softplus_neg = (logits.neg()?.relu()? + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    let negative = (targets.affine(-1.0, 1.0)? * logits)?;
    let positive = match pos_weight {
        Some(w) => (targets.broadcast_mul(&(w - 1.0)?)? + 1.0)?.mul(&softplus_neg)?,
        None => softplus_neg,
    };
    (negative + positive)?.mean_all()
}

pub(crate) fn multi_hot(
    labels: &[Vec<usize>],
    idx: &[usize],
    n_labels: usize,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let mut t = vec![0f32; idx.len() * n_labels];
    for (row, &i) in idx.iter().enumerate() {
        for &l in &labels[i] {
            t[row * n_labels + l] = 1.0;
        }
    }
    Tensor::from_vec(t, (idx.len(), n_labels), device)
}

/// Batches of one epoch: a seeded shuffle, then length-sorted within windows of 50 batches
/// (little padding, still random), batch order shuffled again.
pub(crate) fn epoch_batches(
    rows: &[usize],
    lens: &[usize],
    batch: usize,
    rng: &mut SplitMix,
) -> Vec<Vec<usize>> {
    let mut idx = rows.to_vec();
    rng.shuffle(&mut idx);
    let mut batches = Vec::new();
    for window in idx.chunks(batch * 50) {
        let mut w = window.to_vec();
        w.sort_by_key(|&i| lens[i]);
        batches.extend(w.chunks(batch).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

/// Probabilities for the rows `idx` of `states` with the current weights (no graph).
fn predict(
    bert: &LoraBert,
    states: &States,
    idx: &[usize],
    split: usize,
    adapters: &[LayerLora],
    head: &Head,
) -> candle_core::Result<Vec<Vec<f32>>> {
    let mut order = idx.to_vec();
    order.sort_by_key(|&i| states.lens[i]);
    let mut out: HashMap<usize, Vec<f32>> = HashMap::with_capacity(idx.len());
    let layers = bert.layers().len();
    let refs: Vec<Option<&LayerLora>> = adapters.iter().map(Some).collect();
    for chunk in order.chunks(128) {
        let (x, mask) = states.batch(chunk, bert.device())?;
        let bias = LoraBert::attention_bias(&mask)?;
        let h = bert.run(x, &bias, split..layers, &refs, Mode::Infer, None)?;
        let probs =
            candle_nn::ops::sigmoid(&head.forward(&mean_pool(&h, &mask)?, None)?)?.to_vec2::<f32>()?;
        for (&i, p) in chunk.iter().zip(probs) {
            out.insert(i, p);
        }
    }
    Ok(idx.iter().map(|i| out.remove(i).expect("predicted")).collect())
}

/// Train, write `adapter.safetensors` and `manifest.json` into `cfg.out_dir`, and return the
/// manifest (with dev metrics measured through [`AdapterEmotionClassifier`]).
pub fn train_emotion(
    cfg: &EmotionTrainConfig,
    progress: &mut (dyn FnMut(TrainProgress) + Send),
) -> Result<EmotionManifest> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.max(1))
        .thread_name(|i| format!("memorable-train-{i}"))
        .build()
        .map_err(|e| Error::Internal(format!("training thread pool: {e}")))?;
    pool.install(|| run(cfg, progress))
}

fn run(
    cfg: &EmotionTrainConfig,
    progress: &mut (dyn FnMut(TrainProgress) + Send),
) -> Result<EmotionManifest> {
    let started = Instant::now();
    if cfg.epochs == 0 || cfg.batch_size == 0 || (cfg.adapt_layers > 0 && cfg.rank == 0) {
        return Err(Error::InvalidInput(
            "epochs, batch size and (with adapters) rank must be positive".into(),
        ));
    }
    let data = goemotions::load(&cfg.data_dir)?;
    let n_labels = data.labels.len();
    let device = Device::Cpu;
    let SentenceBertDir { config, tokenizer, .. } = SentenceBertDir::open(&cfg.encoder_dir)?;
    if cfg.adapt_layers > config.num_hidden_layers {
        return Err(Error::InvalidInput(format!(
            "adapt_layers {} exceeds the encoder's {} layers",
            cfg.adapt_layers, config.num_hidden_layers
        )));
    }
    let encoder_sha = crate::models::cache::sha256_file(&cfg.encoder_dir.join("model.safetensors"))?;
    let bert = LoraBert::load(&cfg.encoder_dir, &config, &device)?;
    let split = config.num_hidden_layers - cfg.adapt_layers;

    // Rows: training rows, tuning rows (holdout slice or dev), all indexing `pool_rows`.
    let mut rng = SplitMix::new(cfg.seed);
    let mut train_idx: Vec<usize> = (0..data.train.len()).collect();
    let (rows, tune, tune_set): (LabelledTexts, Vec<usize>, LabelledTexts) = match cfg.tune_on {
        TuneOn::TrainHoldout => {
            rng.shuffle(&mut train_idx);
            let held = ((data.train.len() as f64) * cfg.holdout_fraction).round() as usize;
            let (held_idx, fit_idx) = train_idx.split_at(held);
            let mut fit_idx = fit_idx.to_vec();
            fit_idx.sort_unstable();
            if let Some(m) = cfg.max_train_rows {
                fit_idx.truncate(m);
            }
            let mut held_idx = held_idx.to_vec();
            held_idx.sort_unstable();
            let held_set = data.train.select(&held_idx);
            let mut all = data.train.select(&fit_idx);
            let fit = all.len();
            all.texts.extend(held_set.texts.iter().cloned());
            all.labels.extend(held_set.labels.iter().cloned());
            (all, (fit..fit + held_idx.len()).collect(), held_set)
        }
        TuneOn::Dev => {
            let mut all = data.train.clone();
            if let Some(m) = cfg.max_train_rows {
                all = all.select(&(0..m.min(all.len())).collect::<Vec<_>>());
            }
            let fit = all.len();
            all.texts.extend(data.dev.texts.iter().cloned());
            all.labels.extend(data.dev.labels.iter().cloned());
            (all, (fit..fit + data.dev.len()).collect(), data.dev.clone())
        }
    };
    let fit: Vec<usize> = (0..tune[0]).collect();

    let refs: Vec<&str> = rows.texts.iter().map(String::as_str).collect();
    let tokens = tokenize(&tokenizer, &refs)?;
    let cache_started = Instant::now();
    let states = cached_states(cfg, &bert, &tokens, split, &encoder_sha, progress)?;
    let cache_seconds = cache_started.elapsed().as_secs_f64();

    // Label priors on the fitted rows: head bias init and positive weights.
    let mut positives = vec![0usize; n_labels];
    for &i in &fit {
        for &l in &rows.labels[i] {
            positives[l] += 1;
        }
    }
    let priors: Vec<f64> = positives.iter().map(|&p| (p.max(1) as f64 / fit.len() as f64).min(0.5)).collect();
    let pos_weight = (cfg.pos_weight_power > 0.0)
        .then(|| {
            let w: Vec<f32> =
                priors.iter().map(|&p| (((1.0 - p) / p).powf(cfg.pos_weight_power)) as f32).collect();
            Tensor::from_vec(w, n_labels, &device)
        })
        .transpose()
        .map_err(ce)?;

    let trainable = Trainable::init(cfg, &bert, &priors, &device).map_err(ce)?;
    let adamw = |vars: &[(String, Var)], lr: f64| {
        AdamW::new(
            vars.iter().map(|(_, v)| v.clone()).collect(),
            ParamsAdamW { lr, weight_decay: cfg.weight_decay, ..ParamsAdamW::default() },
        )
    };
    let mut opt_adapter = adamw(&trainable.adapter_vars, cfg.lr).map_err(ce)?;
    let mut opt_head = adamw(&trainable.head_vars, cfg.head_lr).map_err(ce)?;
    let dropout = Dropout::new(cfg.dropout, cfg.seed ^ 0xD80F);

    let steps_per_epoch = fit.len().div_ceil(cfg.batch_size);
    let total_steps = steps_per_epoch * cfg.epochs;
    let warmup_steps = ((total_steps as f64) * cfg.warmup).ceil().max(1.0);
    let eval_every = steps_per_epoch.div_ceil(cfg.evals_per_epoch.max(1));
    let train_started = Instant::now();
    let mut best: Option<(f64, f64, HashMap<String, Tensor>)> = None;
    let mut since_best = 0usize;
    let mut step = 0usize;
    let mut loss_avg = None::<f64>;
    'epochs: for epoch in 0..cfg.epochs {
        for (b, batch) in epoch_batches(&fit, &states.lens, cfg.batch_size, &mut rng).iter().enumerate() {
            let s = step as f64;
            let factor = if s < warmup_steps {
                (s + 1.0) / warmup_steps
            } else {
                (total_steps as f64 - s) / (total_steps as f64 - warmup_steps)
            };
            opt_adapter.set_learning_rate(cfg.lr * factor.max(0.0));
            opt_head.set_learning_rate(cfg.head_lr * factor.max(0.0));
            let loss = train_step(
                &bert,
                &states,
                batch,
                split,
                &trainable,
                cfg,
                &dropout,
                &rows.labels,
                n_labels,
                pos_weight.as_ref(),
            )
            .map_err(ce)?;
            let grads = loss.backward().map_err(ce)?;
            opt_adapter.step(&grads).map_err(ce)?;
            opt_head.step(&grads).map_err(ce)?;
            let l = loss.to_scalar::<f32>().map_err(ce)? as f64;
            loss_avg = Some(loss_avg.map_or(l, |a| 0.98 * a + 0.02 * l));
            step += 1;
            progress(TrainProgress {
                phase: "train",
                done: step as u64,
                total: total_steps as u64,
                loss: loss_avg,
                message: None,
            });

            let last_of_epoch = b + 1 == steps_per_epoch;
            if (b + 1) % eval_every == 0 || last_of_epoch {
                let (adapters, head) = trainable.modules(cfg, true);
                let probs = predict(&bert, &states, &tune, split, &adapters, &head).map_err(ce)?;
                let gold: Vec<Vec<usize>> = tune.iter().map(|&i| rows.labels[i].clone()).collect();
                let t = tune_per_label(&probs, &gold, n_labels, 0.5);
                let score = evaluate(&probs, &gold, &t).macro_f1;
                let at = epoch as f64 + (b + 1) as f64 / steps_per_epoch as f64;
                let improved = best.as_ref().is_none_or(|(s, _, _)| score > *s);
                let msg = format!(
                    "epoch {at:.2}: {} macro-F1 {score:.4} (tuned thresholds){}; {:.0} s training, loss {:.4}",
                    cfg.tune_on.name(),
                    if improved { ", best so far" } else { "" },
                    train_started.elapsed().as_secs_f64(),
                    loss_avg.unwrap_or(f64::NAN),
                );
                tracing::info!("{msg}");
                progress(TrainProgress {
                    phase: "train",
                    done: step as u64,
                    total: total_steps as u64,
                    loss: loss_avg,
                    message: Some(msg),
                });
                if improved {
                    best = Some((score, at, trainable.snapshot().map_err(ce)?));
                    since_best = 0;
                } else {
                    since_best += 1;
                    if since_best >= cfg.patience {
                        break 'epochs;
                    }
                }
            }
        }
    }
    let train_seconds = train_started.elapsed().as_secs_f64();
    let (_, best_epoch, snap) = best.expect("at least one evaluation ran");
    trainable.restore(&snap).map_err(ce)?;
    drop(states);

    // Write the adapter, then score everything through the inference path.
    std::fs::create_dir_all(&cfg.out_dir)?;
    let adapter_path = cfg.out_dir.join(ADAPTER_FILE);
    let tensors: HashMap<String, Tensor> =
        trainable.all().map(|(n, v)| (n.clone(), v.as_detached_tensor())).collect();
    candle_core::safetensors::save(&tensors, &adapter_path).map_err(ce)?;
    let adapter = std::fs::read(&adapter_path)?;
    let mut manifest = EmotionManifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: cfg.name.clone(),
        model_id: cfg.model_id.clone(),
        labels: data.labels.clone(),
        thresholds: vec![0.5; n_labels],
        embedder: EmbedderRef { model_id: cfg.encoder_model_id.clone(), weights_sha256: encoder_sha.clone() },
        adapter: AdapterSpec {
            file: ADAPTER_FILE.into(),
            sha256: sha256_hex(&adapter),
            bytes: adapter.len() as u64,
            layers: trainable.layers.clone(),
            projections: if cfg.adapt_layers > 0 { cfg.projections.clone() } else { Vec::new() },
            rank: if cfg.adapt_layers > 0 { cfg.rank } else { 0 },
            alpha: if cfg.adapt_layers > 0 { cfg.alpha } else { 0.0 },
            head_hidden: cfg.head_hidden,
            pooling: "mean".into(),
        },
        metrics: Metrics {
            thresholds_tuned_on: cfg.tune_on.name().into(),
            tuning: evaluate(&[], &[], &[]),
            dev: evaluate(&[], &[], &[]),
            dev_self_tuned: evaluate(&[], &[], &[]),
            dev_global_threshold: 0.5,
            dev_global_macro_f1: 0.0,
            dev_texts: data.dev.len(),
        },
        training: TrainingRecord {
            command: cfg.command.clone(),
            seed: cfg.seed,
            epochs: cfg.epochs,
            best_epoch,
            batch_size: cfg.batch_size,
            lr: cfg.lr,
            head_lr: cfg.head_lr,
            weight_decay: cfg.weight_decay,
            warmup: cfg.warmup,
            dropout: cfg.dropout,
            pos_weight_power: cfg.pos_weight_power,
            threads: cfg.threads,
            cache_seconds,
            train_seconds,
            total_seconds: 0.0,
            memorable_version: crate::VERSION.into(),
        },
        data: DataRecord {
            train_sha256: data.train_sha256.clone(),
            dev_sha256: data.dev_sha256.clone(),
            labels_sha256: data.labels_sha256.clone(),
            train_rows: fit.len(),
            holdout_rows: if cfg.tune_on == TuneOn::TrainHoldout { tune.len() } else { 0 },
            dev_rows: data.dev.len(),
        },
    };
    let classifier = AdapterEmotionClassifier::from_parts(
        manifest.clone(),
        &adapter,
        &cfg.encoder_dir,
        &encoder_sha,
        ClassifierOptions { threads: cfg.threads, batch_size: 64, ..ClassifierOptions::default() },
    )?;
    let mut score = |set: &LabelledTexts| -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(set.len());
        for chunk in set.texts.chunks(512) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            out.extend(classifier.classify(&refs)?);
            progress(TrainProgress {
                phase: "score",
                done: out.len() as u64,
                total: set.len() as u64,
                loss: None,
                message: None,
            });
        }
        Ok(out)
    };
    let tune_probs = score(&tune_set)?;
    let dev_probs = if cfg.tune_on == TuneOn::Dev { tune_probs.clone() } else { score(&data.dev)? };
    let global = tune_global(&tune_probs, &tune_set.labels, n_labels);
    let thresholds = tune_per_label(&tune_probs, &tune_set.labels, n_labels, global);
    manifest.thresholds = thresholds.clone();
    manifest.metrics.tuning = evaluate(&tune_probs, &tune_set.labels, &thresholds);
    manifest.metrics.dev = evaluate(&dev_probs, &data.dev.labels, &thresholds);
    let self_tuned = tune_per_label(&dev_probs, &data.dev.labels, n_labels, global);
    manifest.metrics.dev_self_tuned = evaluate(&dev_probs, &data.dev.labels, &self_tuned);
    manifest.metrics.dev_global_threshold = global;
    manifest.metrics.dev_global_macro_f1 =
        evaluate(&dev_probs, &data.dev.labels, &vec![global; n_labels]).macro_f1;
    manifest.training.total_seconds = started.elapsed().as_secs_f64();
    manifest.write(&cfg.out_dir)?;
    Ok(manifest)
}

#[allow(clippy::too_many_arguments)]
fn train_step(
    bert: &LoraBert,
    states: &States,
    batch: &[usize],
    split: usize,
    trainable: &Trainable,
    cfg: &EmotionTrainConfig,
    dropout: &Dropout,
    labels: &[Vec<usize>],
    n_labels: usize,
    pos_weight: Option<&Tensor>,
) -> candle_core::Result<Tensor> {
    let (x, mask) = states.batch(batch, bert.device())?;
    let bias = LoraBert::attention_bias(&mask)?;
    let (adapters, head) = trainable.modules(cfg, false);
    let refs: Vec<Option<&LayerLora>> = adapters.iter().map(Some).collect();
    let h = bert.run(x, &bias, split..bert.layers().len(), &refs, Mode::Train, Some(dropout))?;
    let logits = head.forward(&mean_pool(&h, &mask)?, Some(dropout))?;
    bce_with_logits(&logits, &multi_hot(labels, batch, n_labels, bert.device())?, pos_weight)
}

/// The frozen layers' states for `tokens`, from `cfg.cache_dir` when a matching file is there.
fn cached_states(
    cfg: &EmotionTrainConfig,
    bert: &LoraBert,
    tokens: &[Vec<u32>],
    split: usize,
    encoder_sha: &str,
    progress: &mut (dyn FnMut(TrainProgress) + Send),
) -> Result<States> {
    let path = cfg.cache_dir.as_ref().map(|dir| {
        let mut key = format!("{encoder_sha}:{split}:");
        for t in tokens {
            key.push_str(&format!("{t:?};"));
        }
        dir.join(format!("states-{split}-{}.bin", &sha256_hex(key.as_bytes())[..16]))
    });
    if let Some(p) = path.as_ref().filter(|p| p.exists()) {
        tracing::info!(path = %p.display(), "loading cached frozen-layer states");
        return Ok(States::load(p)?);
    }
    let total = tokens.len() as u64;
    let mut done = 0u64;
    let states = States::compute(bert, tokens, split, &mut |n| {
        done += n;
        progress(TrainProgress { phase: "cache", done, total, loss: None, message: None });
    })
    .map_err(ce)?;
    if let Some(p) = path {
        std::fs::create_dir_all(p.parent().expect("file in a folder"))?;
        states.save(&p)?;
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bce_matches_the_definition() {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[2.0f32, -1.0], [0.5, -30.0]], &dev).unwrap();
        let t = Tensor::new(&[[1.0f32, 0.0], [0.0, 1.0]], &dev).unwrap();
        let got = bce_with_logits(&x, &t, None).unwrap().to_scalar::<f32>().unwrap() as f64;
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let want = [(2.0, 1.0), (-1.0, 0.0), (0.5, 0.0), (-30.0, 1.0)]
            .iter()
            .map(|&(v, y): &(f64, f64)| -(y * sig(v).ln() + (1.0 - y) * (1.0 - sig(v)).ln()))
            .sum::<f64>()
            / 4.0;
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        // A positive weight of 1 changes nothing; a larger one only scales positives.
        let w1 = Tensor::new(&[1.0f32, 1.0], &dev).unwrap();
        let same = bce_with_logits(&x, &t, Some(&w1)).unwrap().to_scalar::<f32>().unwrap() as f64;
        assert!((same - got).abs() < 1e-6);
    }

    #[test]
    fn epoch_batches_cover_every_row_once_and_are_seeded() {
        let rows: Vec<usize> = (0..1000).collect();
        let lens: Vec<usize> = (0..1000).map(|i| (i * 7919) % 50 + 3).collect();
        let a = epoch_batches(&rows, &lens, 32, &mut SplitMix::new(1));
        let b = epoch_batches(&rows, &lens, 32, &mut SplitMix::new(1));
        let c = epoch_batches(&rows, &lens, 32, &mut SplitMix::new(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut all: Vec<usize> = a.concat();
        all.sort_unstable();
        assert_eq!(all, rows);
    }
}
