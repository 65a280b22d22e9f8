//! Training an application's own classifier on its labelled examples, resumable.
//!
//! Both presets start from the shipped GoEmotions classifier's adapted encoder (MiniLM with
//! LoRA on its top layers), which already reads emotion far better than the frozen encoder:
//! `quick` trains a new head on its pooled states (computed once; each step is a small
//! matrix product), `full` trains its adapters further together with the new head, on the
//! token states of the frozen lower layers (computed once, as `memorable train emotion`
//! does). The model written is an ordinary adapter classifier (manifest + safetensors), so
//! it loads and runs through the same path as the shipped one.
//!
//! Reproducible and resumable: the batch order of an epoch and every dropout mask come from
//! the seed, the epoch and the step, so a job resumed from a checkpoint (weights, AdamW
//! moments, best weights so far, position) takes the steps it would have taken.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::Linear;
use serde::{Deserialize, Serialize};

use super::emotion::{bce_with_logits, epoch_batches, multi_hot, States};
use super::options::{Preset, TrainOptions};
use super::split::{Dataset, Split};
use crate::error::{Error, Result};
use crate::models::bert_lora::{Dropout, LayerLora, LoraBert, LoraPair, Mode, SplitMix};
use crate::models::candle_bert::{mean_pool, tokenize, SentenceBertDir};
use crate::models::emotion_adapter::{
    builtin_manifest, lora_a_name, lora_b_name, sha256_hex, AdapterEmotionClassifier, ClassifierOptions,
    Head, BUILTIN_ADAPTER, HEAD_OUT_BIAS, HEAD_OUT_WEIGHT,
};
use crate::models::emotion_manifest::{DataRecord, EmotionManifest, TrainingRecord, ADAPTER_FILE};
use crate::models::emotion_metrics::{evaluate, tune_global, tune_per_label};
use crate::models::EmotionClassifier;

fn ce(e: candle_core::Error) -> Error {
    Error::Model(format!("training: {e}"))
}

/// The encoder the shipped classifier runs on: its folder, weights SHA-256 and model id.
pub struct Encoder<'a> {
    pub dir: &'a Path,
    pub sha256: &'a str,
}

/// Where the model goes and what it is called.
pub struct Target<'a> {
    pub out_dir: &'a Path,
    pub name: &'a str,
    pub model_id: &'a str,
}

/// What the caller wants after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// Write a checkpoint and stop (resume later).
    Pause,
    /// Stop; nothing is kept.
    Cancel,
}

/// Where a job is: `phase` is `features`, `train` or `evaluate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub phase: String,
    pub done: u64,
    pub total: u64,
    /// Epochs done, fractional.
    pub epoch: f64,
    /// Running mean of the training loss.
    pub loss: Option<f64>,
    pub message: Option<String>,
}

/// A trained model, written to the target folder, and its probabilities on the evaluation
/// rows (through the inference path).
pub struct Trained {
    pub manifest: EmotionManifest,
    pub eval_probs: Vec<Vec<f32>>,
    pub steps: usize,
}

pub enum Outcome {
    Done(Box<Trained>),
    /// Stopped by the caller (a checkpoint was written for `Pause`).
    Stopped(Control),
}

/// A job's position, saved with its checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Position {
    step: usize,
    best_score: Option<f64>,
    best_at: f64,
    since_best: usize,
    loss_avg: Option<f64>,
    adam_t: usize,
    stopped_early: bool,
}

/// AdamW over named variables, with state that can be checkpointed (candle-nn's keeps its
/// moments private).
struct AdamW {
    t: usize,
    m: HashMap<String, Tensor>,
    v: HashMap<String, Tensor>,
    weight_decay: f64,
}

impl AdamW {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    fn step(
        &mut self,
        vars: &[(String, Var, f64)],
        grads: &candle_core::backprop::GradStore,
        factor: f64,
    ) -> candle_core::Result<()> {
        self.t += 1;
        let (c1, c2) = (1.0 - Self::B1.powi(self.t as i32), 1.0 - Self::B2.powi(self.t as i32));
        for (name, var, base_lr) in vars {
            let Some(g) = grads.get(var) else { continue };
            let lr = base_lr * factor;
            let m = match self.m.get(name) {
                Some(m) => ((m * Self::B1)? + (g * (1.0 - Self::B1))?)?,
                None => (g * (1.0 - Self::B1))?,
            };
            let v = match self.v.get(name) {
                Some(v) => ((v * Self::B2)? + (g.sqr()? * (1.0 - Self::B2))?)?,
                None => (g.sqr()? * (1.0 - Self::B2))?,
            };
            let update = ((&m / c1)? / ((&v / c2)?.sqrt()? + Self::EPS)?)?;
            let next = ((var.as_tensor() * (1.0 - lr * self.weight_decay))? - (update * lr)?)?;
            var.set(&next)?;
            self.m.insert(name.clone(), m);
            self.v.insert(name.clone(), v);
        }
        Ok(())
    }
}

/// What each step reads: pooled states (quick) or frozen-layer token states (full).
enum Inputs {
    Pooled { rows: Vec<Vec<f32>>, at: Vec<usize> },
    Tokens { bert: Box<LoraBert>, states: States, at: Vec<usize>, split: usize },
}

struct Model {
    inputs: Inputs,
    /// (name, variable, learning rate).
    vars: Vec<(String, Var, f64)>,
    /// Adapted layer indices (full).
    layers: Vec<usize>,
    scale: f64,
    device: Device,
}

impl Model {
    fn tensor(&self, name: &str, detach: bool) -> Tensor {
        let v = &self.vars.iter().find(|(n, ..)| n == name).expect("known tensor").1;
        if detach {
            v.as_detached_tensor()
        } else {
            v.as_tensor().clone()
        }
    }

    fn logits(&self, rows: &[usize], train: bool, drop: Option<&Dropout>) -> candle_core::Result<Tensor> {
        let head = Head {
            hidden: None,
            out: Linear::new(self.tensor(HEAD_OUT_WEIGHT, !train), Some(self.tensor(HEAD_OUT_BIAS, !train))),
        };
        head.forward(&self.pooled(rows, train, drop)?, drop)
    }

    /// What the head reads for `rows`: the given pooled states, or the adapted layers run on
    /// the frozen layers' token states and mean-pooled.
    fn pooled(&self, rows: &[usize], train: bool, drop: Option<&Dropout>) -> candle_core::Result<Tensor> {
        match &self.inputs {
            Inputs::Pooled { rows: pooled, at } => {
                let dim = pooled.first().map_or(0, Vec::len);
                let data: Vec<f32> = rows.iter().flat_map(|&r| pooled[at[r]].iter().copied()).collect();
                Tensor::from_vec(data, (rows.len(), dim), &self.device)
            }
            Inputs::Tokens { bert, states, at, split } => {
                let pos: Vec<usize> = rows.iter().map(|&r| at[r]).collect();
                let (x, mask) = states.batch(&pos, &self.device)?;
                let bias = LoraBert::attention_bias(&mask)?;
                let adapters: Vec<LayerLora> = self
                    .layers
                    .iter()
                    .map(|&l| {
                        let mut lora = LayerLora::default();
                        for p in &builtin_manifest().adapter.projections {
                            let (a, b) = (
                                self.tensor(&lora_a_name(l, *p), !train),
                                self.tensor(&lora_b_name(l, *p), !train),
                            );
                            lora.set(*p, LoraPair { a, b, scale: self.scale });
                        }
                        lora
                    })
                    .collect();
                let refs: Vec<Option<&LayerLora>> = adapters.iter().map(Some).collect();
                let mode = if train { Mode::Train } else { Mode::Infer };
                let h = bert.run(x, &bias, *split..bert.layers().len(), &refs, mode, drop)?;
                mean_pool(&h, &mask)
            }
        }
    }

    fn predict(&self, rows: &[usize]) -> candle_core::Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(128) {
            out.extend(candle_nn::ops::sigmoid(&self.logits(chunk, false, None)?)?.to_vec2::<f32>()?);
        }
        Ok(out)
    }

    fn snapshot(&self) -> candle_core::Result<HashMap<String, Tensor>> {
        self.vars.iter().map(|(n, v, _)| Ok((n.clone(), v.as_tensor().copy()?))).collect()
    }
}

/// Train on `split.fit`, pick the best evaluation on `split.tune`, write the model into
/// `target.out_dir`, and score `split.eval` through the inference path. `resume` is a
/// checkpoint (`state`, `data`) written earlier through `checkpoint`.
#[allow(clippy::too_many_arguments)]
pub fn train_classifier(
    ds: &Dataset,
    split: &Split,
    opts: &TrainOptions,
    encoder: &Encoder<'_>,
    target: &Target<'_>,
    resume: Option<(&str, &[u8])>,
    on_step: &mut dyn FnMut(&StepReport) -> Control,
    checkpoint: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
) -> Result<Outcome> {
    opts.validate()?;
    if split.fit.is_empty() || split.tune.is_empty() || split.eval.is_empty() {
        return Err(Error::InvalidInput(format!(
            "too few examples to train: {} fitted, {} tuning and {} evaluation rows (each label needs several examples)",
            split.fit.len(),
            split.tune.len(),
            split.eval.len()
        )));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .thread_name(|i| format!("memorable-train-{i}"))
        .build()
        .map_err(|e| Error::Internal(format!("training thread pool: {e}")))?;
    // The work runs in the pool (so every tensor operation is bounded to its threads); the
    // caller's callbacks run here, on the calling thread, as the bindings promise: each
    // progress report and checkpoint is handed over and waited for.
    enum Call {
        Step(StepReport),
        Save(String, Vec<u8>),
    }
    enum Answer {
        Control(Control),
        Saved(Result<()>),
    }
    let (tx, rx) = std::sync::mpsc::channel::<(Call, std::sync::mpsc::SyncSender<Answer>)>();
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let ask = |call: Call| {
                let (reply, answer) = std::sync::mpsc::sync_channel(1);
                tx.send((call, reply)).ok()?;
                answer.recv().ok()
            };
            let mut step = |r: &StepReport| match ask(Call::Step(r.clone())) {
                Some(Answer::Control(c)) => c,
                _ => Control::Cancel,
            };
            let mut save = |state: &str, data: &[u8]| match ask(Call::Save(state.to_owned(), data.to_vec())) {
                Some(Answer::Saved(r)) => r,
                _ => Err(Error::Internal("the training job's caller went away".into())),
            };
            pool.install(|| run(ds, split, opts, encoder, target, resume, &mut step, &mut save))
        });
        for (call, reply) in rx {
            let answer = match call {
                Call::Step(r) => Answer::Control(on_step(&r)),
                Call::Save(state, data) => Answer::Saved(checkpoint(&state, &data)),
            };
            let _ = reply.send(answer);
        }
        worker.join().map_err(|_| Error::Internal("the training thread panicked".into()))?
    })
}

#[allow(clippy::too_many_arguments)]
fn run(
    ds: &Dataset,
    split: &Split,
    opts: &TrainOptions,
    encoder: &Encoder<'_>,
    target: &Target<'_>,
    resume: Option<(&str, &[u8])>,
    on_step: &mut dyn FnMut(&StepReport) -> Control,
    checkpoint: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
) -> Result<Outcome> {
    let started = Instant::now();
    let device = Device::Cpu;
    let shipped = builtin_manifest();
    let base_opts =
        ClassifierOptions { threads: opts.threads, batch_size: 64, ..ClassifierOptions::default() };
    let base = AdapterEmotionClassifier::from_parts(
        shipped.clone(),
        BUILTIN_ADAPTER,
        encoder.dir,
        encoder.sha256,
        base_opts.clone(),
    )?;
    let shipped_tensors = candle_core::safetensors::load_buffer(BUILTIN_ADAPTER, &device).map_err(ce)?;
    let n_labels = ds.labels.len();
    let mut needed: Vec<usize> = split.fit.iter().chain(&split.tune).copied().collect();
    needed.sort_unstable();
    let mut at = vec![usize::MAX; ds.len()];
    for (i, &r) in needed.iter().enumerate() {
        at[r] = i;
    }
    let texts: Vec<&str> = needed.iter().map(|&r| ds.texts[r].as_str()).collect();
    let feature_report = |done: usize| StepReport {
        phase: "features".into(),
        done: done as u64,
        total: texts.len() as u64,
        epoch: 0.0,
        loss: None,
        message: None,
    };
    let full = opts.preset == Preset::Full;
    let inputs = if full {
        let SentenceBertDir { config, tokenizer, .. } = SentenceBertDir::open(encoder.dir)?;
        let bert = LoraBert::load(encoder.dir, &config, &device)?;
        let tokens = tokenize(&tokenizer, &texts)?;
        let split_at = config.num_hidden_layers - shipped.adapter.layers.len();
        let mut done = 0usize;
        let mut stop = None;
        let states = States::compute(&bert, &tokens, split_at, &mut |n| {
            done += n as usize;
            if stop.is_none() {
                let c = on_step(&feature_report(done));
                if c != Control::Continue {
                    stop = Some(c);
                }
            }
        })
        .map_err(ce)?;
        if let Some(c) = stop {
            return Ok(Outcome::Stopped(c));
        }
        Inputs::Tokens { bert: Box::new(bert), states, at: at.clone(), split: split_at }
    } else {
        let mut rows = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(256) {
            rows.extend(base.features(chunk)?);
            match on_step(&feature_report(rows.len())) {
                Control::Continue => {}
                c => return Ok(Outcome::Stopped(c)),
            }
        }
        Inputs::Pooled { rows, at: at.clone() }
    };
    drop(base);

    // Variables: the head (new), and for `full` the shipped adapters (warm start).
    let mut positives = vec![0usize; n_labels];
    for &r in &split.fit {
        for &l in &ds.gold[r] {
            positives[l] += 1;
        }
    }
    let hidden = shipped_tensors.get(HEAD_OUT_WEIGHT).map_or(384, |t| t.dims()[1]);
    let mut rng = SplitMix::new(opts.seed ^ 0x5EED_1417);
    let bound = 1.0 / (hidden as f32).sqrt();
    let w: Vec<f32> = (0..n_labels * hidden).map(|_| (rng.next_f32() * 2.0 - 1.0) * bound).collect();
    let prior: Vec<f32> = positives
        .iter()
        .map(|&p| {
            let q = (p.max(1) as f64 / split.fit.len() as f64).min(0.5);
            (q / (1.0 - q)).ln() as f32
        })
        .collect();
    let (head_lr, adapter_lr, batch_size, dropout) =
        if full { (2e-3, 5e-4, 32, 0.1) } else { (3e-3, 0.0, 64, 0.1) };
    let mut vars = vec![
        (HEAD_OUT_WEIGHT.to_owned(), Var::from_vec(w, (n_labels, hidden), &device).map_err(ce)?, head_lr),
        (HEAD_OUT_BIAS.to_owned(), Var::from_vec(prior, n_labels, &device).map_err(ce)?, head_lr),
    ];
    if full {
        let mut names: Vec<&String> = shipped_tensors.keys().filter(|k| k.starts_with("layer.")).collect();
        names.sort();
        for name in names {
            let t = shipped_tensors[name].to_dtype(DType::F32).map_err(ce)?;
            vars.push((name.clone(), Var::from_tensor(&t).map_err(ce)?, adapter_lr));
        }
    }
    let model = Model {
        inputs,
        vars,
        layers: shipped.adapter.layers.clone(),
        scale: shipped.adapter.scale(),
        device: device.clone(),
    };
    let mut adam = AdamW { t: 0, m: HashMap::new(), v: HashMap::new(), weight_decay: 0.01 };
    let mut pos = Position::default();
    let mut best: Option<HashMap<String, Tensor>> = None;
    if let Some((state, data)) = resume {
        pos = serde_json::from_str(state).map_err(|e| Error::Corrupt(format!("training checkpoint: {e}")))?;
        let saved = candle_core::safetensors::load_buffer(data, &device).map_err(ce)?;
        let get = |k: &str| {
            saved.get(k).cloned().ok_or_else(|| Error::Corrupt(format!("training checkpoint lacks {k}")))
        };
        for (name, var, _) in &model.vars {
            var.set(&get(&format!("cur.{name}"))?).map_err(ce)?;
            if pos.adam_t > 0 {
                adam.m.insert(name.clone(), get(&format!("m.{name}"))?);
                adam.v.insert(name.clone(), get(&format!("v.{name}"))?);
            }
        }
        adam.t = pos.adam_t;
        if pos.best_score.is_some() {
            best = Some(
                model
                    .vars
                    .iter()
                    .map(|(n, ..)| Ok((n.clone(), get(&format!("best.{n}"))?)))
                    .collect::<Result<_>>()?,
            );
        }
    }
    let save = |pos: &Position,
                adam: &AdamW,
                best: &Option<HashMap<String, Tensor>>,
                checkpoint: &mut dyn FnMut(&str, &[u8]) -> Result<()>|
     -> Result<()> {
        let mut all: Vec<(String, Tensor)> = Vec::new();
        for (name, var, _) in &model.vars {
            all.push((format!("cur.{name}"), var.as_tensor().clone()));
            if let (Some(m), Some(v)) = (adam.m.get(name), adam.v.get(name)) {
                all.push((format!("m.{name}"), m.clone()));
                all.push((format!("v.{name}"), v.clone()));
            }
            if let Some(b) = best.as_ref().and_then(|b| b.get(name)) {
                all.push((format!("best.{name}"), b.clone()));
            }
        }
        let bytes = safetensors::tensor::serialize(all.iter().map(|(n, t)| (n.as_str(), t)), None)
            .map_err(|e| Error::Internal(format!("serializing a checkpoint: {e}")))?;
        let state = serde_json::to_string(pos)?;
        checkpoint(&state, &bytes)
    };

    let tune_gold: Vec<Vec<usize>> = split.tune.iter().map(|&r| ds.gold[r].clone()).collect();
    if full && resume.is_none() {
        // Linear probe, then fine-tune: the new head is fitted alone first (a random head's
        // gradients would pull the pretrained adapters off course), and that model is the
        // best so far, so the joint steps are kept only where they do better.
        let score = match probe_head(&model, &needed, &at, ds, split, opts, &tune_gold, on_step)? {
            Ok(score) => score,
            // Stopped before any joint step: nothing to checkpoint; a resume starts over.
            Err(control) => return Ok(Outcome::Stopped(control)),
        };
        pos.best_score = Some(score);
        best = Some(model.snapshot().map_err(ce)?);
    }
    let epochs = opts.epochs_or_default();
    let steps_per_epoch = split.fit.len().div_ceil(batch_size);
    let total_steps = steps_per_epoch * epochs;
    let warmup = ((total_steps as f64) * 0.06).ceil().max(1.0);
    let evals_per_epoch = if full { 2 } else { 1 };
    let eval_every = steps_per_epoch.div_ceil(evals_per_epoch);
    let patience = 3;
    let lens: Vec<usize> = match &model.inputs {
        Inputs::Tokens { states, at, .. } => {
            (0..ds.len()).map(|r| if at[r] == usize::MAX { 0 } else { states.lens[at[r]] }).collect()
        }
        Inputs::Pooled { .. } => vec![1; ds.len()],
    };
    let train_started = Instant::now();
    let start_step = pos.step;
    while pos.step < total_steps && !pos.stopped_early {
        let epoch = pos.step / steps_per_epoch;
        let mut order = SplitMix::new(opts.seed ^ ((epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        let batches = epoch_batches(&split.fit, &lens, batch_size, &mut order);
        for (b, batch) in batches.iter().enumerate().skip(pos.step % steps_per_epoch) {
            let s = pos.step as f64;
            let factor = if s < warmup {
                (s + 1.0) / warmup
            } else {
                ((total_steps as f64 - s) / (total_steps as f64 - warmup)).max(0.0)
            };
            let drop =
                Dropout::new(dropout, opts.seed ^ (pos.step as u64 + 1).wrapping_mul(0xD80F_0D80_F0D8_0F0D));
            let logits = model.logits(batch, true, Some(&drop)).map_err(ce)?;
            let targets = multi_hot(&ds.gold, batch, n_labels, &device).map_err(ce)?;
            let loss = bce_with_logits(&logits, &targets, None).map_err(ce)?;
            let grads = loss.backward().map_err(ce)?;
            adam.step(&model.vars, &grads, factor).map_err(ce)?;
            let l = loss.to_scalar::<f32>().map_err(ce)? as f64;
            pos.loss_avg = Some(pos.loss_avg.map_or(l, |a| 0.98 * a + 0.02 * l));
            pos.step += 1;
            pos.adam_t = adam.t;
            let mut message = None;
            if (b + 1) % eval_every == 0 || b + 1 == steps_per_epoch {
                let probs = model.predict(&split.tune).map_err(ce)?;
                let t = tune_per_label(&probs, &tune_gold, n_labels, 0.5);
                let score = evaluate(&probs, &tune_gold, &t).macro_f1;
                let improved = pos.best_score.is_none_or(|b| score > b);
                message = Some(format!(
                    "epoch {:.2}: tuning macro-F1 {score:.4}{}",
                    pos.step as f64 / steps_per_epoch as f64,
                    if improved { ", best so far" } else { "" }
                ));
                if improved {
                    pos.best_score = Some(score);
                    pos.best_at = pos.step as f64 / steps_per_epoch as f64;
                    pos.since_best = 0;
                    best = Some(model.snapshot().map_err(ce)?);
                } else {
                    pos.since_best += 1;
                    pos.stopped_early = pos.since_best >= patience;
                }
            }
            let report = StepReport {
                phase: "train".into(),
                done: pos.step as u64,
                total: total_steps as u64,
                epoch: pos.step as f64 / steps_per_epoch as f64,
                loss: pos.loss_avg,
                message: message.clone(),
            };
            let control = on_step(&report);
            if control == Control::Cancel {
                return Ok(Outcome::Stopped(Control::Cancel));
            }
            if control == Control::Pause || message.is_some() || pos.step % opts.checkpoint_every == 0 {
                save(&pos, &adam, &best, checkpoint)?;
            }
            if control == Control::Pause {
                return Ok(Outcome::Stopped(Control::Pause));
            }
            if pos.stopped_early {
                break;
            }
        }
    }
    let steps = pos.step;
    tracing::info!(
        steps,
        resumed_at = start_step,
        seconds = train_started.elapsed().as_secs_f64(),
        "training done"
    );
    let best = best.ok_or_else(|| Error::Internal("training ended without an evaluation".into()))?;
    drop(model);

    // The model: the shipped adapters (quick) or the trained ones (full), and the new head.
    std::fs::create_dir_all(target.out_dir)?;
    let mut tensors: HashMap<String, Tensor> = shipped_tensors
        .iter()
        .filter(|(k, _)| k.starts_with("layer."))
        .map(|(k, t)| (k.clone(), t.clone()))
        .collect();
    tensors.extend(best);
    let adapter_path = target.out_dir.join(ADAPTER_FILE);
    candle_core::safetensors::save(&tensors, &adapter_path).map_err(ce)?;
    let adapter = std::fs::read(&adapter_path)?;
    let mut manifest = shipped.clone();
    manifest.name = target.name.to_owned();
    manifest.model_id = target.model_id.to_owned();
    manifest.labels = ds.labels.clone();
    manifest.thresholds = vec![0.5; n_labels];
    manifest.adapter.sha256 = sha256_hex(&adapter);
    manifest.adapter.bytes = adapter.len() as u64;
    manifest.adapter.head_hidden = 0;
    manifest.training = TrainingRecord {
        command: format!("train --classifier {} --preset {}", target.name, opts.preset),
        seed: opts.seed,
        epochs,
        best_epoch: pos.best_at,
        batch_size,
        lr: adapter_lr,
        head_lr,
        weight_decay: 0.01,
        warmup: 0.06,
        dropout,
        pos_weight_power: 0.0,
        threads: opts.threads,
        cache_seconds: 0.0,
        train_seconds: train_started.elapsed().as_secs_f64(),
        total_seconds: 0.0,
        memorable_version: crate::VERSION.into(),
    };
    let digest = |rows: &[usize]| {
        let mut all = String::new();
        for &r in rows {
            all.push_str(&ds.texts[r]);
            all.push('\u{1f}');
        }
        sha256_hex(all.as_bytes())
    };
    manifest.data = DataRecord {
        train_sha256: digest(&split.fit),
        dev_sha256: digest(&split.eval),
        labels_sha256: sha256_hex(ds.labels.join("\n").as_bytes()),
        train_rows: split.fit.len(),
        holdout_rows: split.tune.len(),
        dev_rows: split.eval.len(),
    };
    let classifier = AdapterEmotionClassifier::from_parts(
        manifest.clone(),
        &adapter,
        encoder.dir,
        encoder.sha256,
        base_opts,
    )?;
    let mut score = |rows: &[usize]| -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(256) {
            let refs: Vec<&str> = chunk.iter().map(|&r| ds.texts[r].as_str()).collect();
            out.extend(classifier.classify(&refs)?);
            on_step(&StepReport {
                phase: "evaluate".into(),
                done: out.len() as u64,
                total: rows.len() as u64,
                epoch: pos.step as f64 / steps_per_epoch as f64,
                loss: pos.loss_avg,
                message: None,
            });
        }
        Ok(out)
    };
    // Thresholds from the train side only; the evaluation rows are scored with them.
    let tune_probs = score(&split.tune)?;
    let eval_probs = score(&split.eval)?;
    let global = tune_global(&tune_probs, &tune_gold, n_labels);
    manifest.thresholds = tune_per_label(&tune_probs, &tune_gold, n_labels, global);
    let eval_gold: Vec<Vec<usize>> = split.eval.iter().map(|&r| ds.gold[r].clone()).collect();
    manifest.metrics.thresholds_tuned_on = "train-holdout".into();
    manifest.metrics.tuning = evaluate(&tune_probs, &tune_gold, &manifest.thresholds);
    manifest.metrics.dev = evaluate(&eval_probs, &eval_gold, &manifest.thresholds);
    manifest.metrics.dev_self_tuned = manifest.metrics.dev.clone();
    manifest.metrics.dev_global_threshold = global;
    manifest.metrics.dev_global_macro_f1 =
        evaluate(&eval_probs, &eval_gold, &vec![global; n_labels]).macro_f1;
    manifest.metrics.dev_texts = split.eval.len();
    manifest.training.total_seconds = started.elapsed().as_secs_f64();
    manifest.write(target.out_dir)?;
    Ok(Outcome::Done(Box::new(Trained { manifest, eval_probs, steps })))
}

/// The full preset's first stage: the head trained alone (as `quick`) on the pooled states of
/// the adapted layers with the shipped adapters, computed once; the best head on the tuning
/// rows is left in `model`'s head variables. Returns its tuning macro-F1, or what the caller
/// asked for when it stopped the work.
#[allow(clippy::too_many_arguments)]
fn probe_head(
    model: &Model,
    needed: &[usize],
    at: &[usize],
    ds: &Dataset,
    split: &Split,
    opts: &TrainOptions,
    tune_gold: &[Vec<usize>],
    on_step: &mut dyn FnMut(&StepReport) -> Control,
) -> Result<std::result::Result<f64, Control>> {
    let mut rows = Vec::with_capacity(needed.len());
    for chunk in needed.chunks(128) {
        rows.extend(model.pooled(chunk, false, None).and_then(|t| t.to_vec2::<f32>()).map_err(ce)?);
        let report = StepReport {
            phase: "features".into(),
            done: rows.len() as u64,
            total: needed.len() as u64,
            epoch: 0.0,
            loss: None,
            message: None,
        };
        match on_step(&report) {
            Control::Continue => {}
            c => return Ok(Err(c)),
        }
    }
    let head: Vec<(String, Var, f64)> = model
        .vars
        .iter()
        .filter(|(n, ..)| n.starts_with("head."))
        .map(|(n, v, _)| (n.clone(), v.clone(), 3e-3))
        .collect();
    // The variables are shared (a `Var` clone is the same storage): what the probe learns is
    // the model's head.
    let probe = Model {
        inputs: Inputs::Pooled { rows, at: at.to_vec() },
        vars: head,
        layers: Vec::new(),
        scale: 0.0,
        device: model.device.clone(),
    };
    let mut adam = AdamW { t: 0, m: HashMap::new(), v: HashMap::new(), weight_decay: 0.01 };
    let n_labels = ds.labels.len();
    let (epochs, batch) = (12usize, 64usize);
    let steps_per_epoch = split.fit.len().div_ceil(batch);
    let total = (steps_per_epoch * epochs) as f64;
    let warmup = (total * 0.06).ceil().max(1.0);
    let ones = vec![1; ds.len()];
    let (mut best, mut since, mut step) = (None::<(f64, HashMap<String, Tensor>)>, 0, 0usize);
    for epoch in 0..epochs {
        let mut order =
            SplitMix::new(opts.seed ^ 0x9B0B ^ ((epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        for b in epoch_batches(&split.fit, &ones, batch, &mut order) {
            let s = step as f64;
            let factor =
                if s < warmup { (s + 1.0) / warmup } else { ((total - s) / (total - warmup)).max(0.0) };
            let drop =
                Dropout::new(0.1, opts.seed ^ 0x9B0B ^ (step as u64 + 1).wrapping_mul(0xD80F_0D80_F0D8_0F0D));
            let logits = probe.logits(&b, true, Some(&drop)).map_err(ce)?;
            let targets = multi_hot(&ds.gold, &b, n_labels, &probe.device).map_err(ce)?;
            let loss = bce_with_logits(&logits, &targets, None).map_err(ce)?;
            adam.step(&probe.vars, &loss.backward().map_err(ce)?, factor).map_err(ce)?;
            step += 1;
        }
        let probs = probe.predict(&split.tune).map_err(ce)?;
        let t = tune_per_label(&probs, tune_gold, n_labels, 0.5);
        let score = evaluate(&probs, tune_gold, &t).macro_f1;
        let report = StepReport {
            phase: "features".into(),
            done: needed.len() as u64,
            total: needed.len() as u64,
            epoch: 0.0,
            loss: None,
            message: Some(format!("probe epoch {}: tuning macro-F1 {score:.4}", epoch + 1)),
        };
        match on_step(&report) {
            Control::Continue => {}
            c => return Ok(Err(c)),
        }
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, probe.snapshot().map_err(ce)?));
            since = 0;
        } else {
            since += 1;
            if since >= 3 {
                break;
            }
        }
    }
    let (score, weights) = best.expect("one probe epoch ran");
    for (n, v, _) in &probe.vars {
        v.set(&weights[n]).map_err(ce)?;
    }
    Ok(Ok(score))
}
