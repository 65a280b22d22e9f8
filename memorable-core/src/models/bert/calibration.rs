//! The calibration set of the int8 model: fixed texts run through the f32 model at load, to
//! record each linear layer's largest |input| per channel (what smoothing needs, see
//! [`super::qgemm`]). Written for this purpose — chat turns, notes, questions, numbers and
//! names, short and long, a few other languages — and disjoint from every test and benchmark
//! set, so the int8 figures are not measured on what calibrated them. Fixed texts make the
//! int8 weights, and so the vectors, the same on every load.

use super::encoder::{Batch, Encoder};
use super::weights::{BertWeights, Calibration};
use crate::error::{Error, Result};
use crate::models::st_dir::StTokenizer;

const TEXTS: &[&str] = &[
    "hey! how was your weekend?",
    "Ok",
    "I finally finished the marathon in 4:12:37, my legs are jelly but I'm so proud.",
    "Reminder: dentist appointment on Tuesday, March 3rd at 9:30 AM.",
    "My sister Priya moved to Toronto last year and she loves the snow, apparently.",
    "Can you remind me what the name of that Italian restaurant on 5th Avenue was?",
    "I'm really worried about my dad's surgery next week.",
    "We adopted a rescue cat named Mochi; she hides under the couch all day.",
    "The quarterly revenue grew 12.5% year over year, driven by subscriptions in EMEA.",
    "lol that's hilarious 😂😂",
    "Why do I always feel so tired on Sunday evenings?",
    "Note to self: buy oat milk, eggs, spinach, and batteries (AA x4).",
    "She said the meeting was cancelled, but nobody told me until I got there.",
    "Grandma's recipe uses two cups of flour, one cup of sugar and a pinch of cardamom.",
    "I started learning the guitar in January and can now play three songs.",
    "The flight from Lisbon was delayed six hours, so we missed the connection in Frankfurt.",
    "Thanks so much for listening yesterday, it really helped.",
    "Password managers are safer than reusing the same password everywhere.",
    "Je suis allé au marché ce matin et j'ai acheté des fraises.",
    "Mañana tenemos la reunión con el equipo de diseño a las diez.",
    "Ich habe das Buch gestern Abend fertig gelesen.",
    "What's the difference between a virus and a bacterium?",
    "I'm not angry, just disappointed that nobody kept their promise.",
    "Our team won the regional robotics competition with a robot called Sparky!",
    "The landlord raised the rent by $150 a month starting in October.",
    "I keep dreaming about the house I grew up in, with the blue door and the apple tree.",
    "Honestly I don't know whether to take the job in Seattle or stay here near my friends.",
    "#throwback to the summer we drove the whole Pacific Coast Highway in a rented van",
    "Error 404: the page you requested could not be found. Please check the URL and try again.",
    "My therapist suggested I write down three good things that happen every day, so here goes: \
     the coffee was perfect this morning, a stranger held the door for me while I carried \
     groceries, and my son read his first full sentence out loud without any help.",
    "During the long winter of 1998 the village was cut off for weeks; my grandfather used to \
     tell us how they shared bread, firewood and stories by candlelight, and how the first \
     thaw felt like a festival when the road to the valley finally opened again.",
    "Project update — the migration to the new database is 80% done; remaining work: backfill \
     the archived records, re-run the integrity checks, update the dashboards, and schedule the \
     cut-over for a weekend with low traffic so that customers are not affected.",
];

/// Run the calibration texts through `weights` (f32) and return what each linear layer saw.
pub(super) fn run(weights: &BertWeights, tokenizer: &StTokenizer) -> Result<Calibration> {
    let tokens: Vec<Vec<u32>> = TEXTS.iter().map(|t| tokenizer.encode(t)).collect::<Result<_>>()?;
    let ids: Vec<&[u32]> = tokens.iter().map(Vec::as_slice).collect();
    let encoder = Encoder::calibrating(weights.clone());
    let mut batch = Batch::default();
    encoder.embed_tokens(&ids, &mut batch)?;
    encoder.run_layers(&mut batch, 0..weights.num_layers());
    encoder.calibration().ok_or_else(|| Error::Internal("calibrating encoder recorded nothing".into()))
}
