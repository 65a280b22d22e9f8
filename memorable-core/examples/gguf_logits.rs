//! Print the local generator's logits for a token sequence, one JSON array per position from
//! `FROM` on: what `scripts/test-llm-server.sh` compares with llama.cpp's scores for the same
//! GGUF (top tokens and their margins), to tell a real divergence from a near tie.
//!
//!     cargo run --release -p memorable-core --example gguf_logits -- MODEL.gguf '[504, 2365]' 1

use memorable_core::models::llm::gguf::GgufGenerator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, ids, from] = &args[..] else {
        return Err("usage: gguf_logits MODEL.gguf '[TOKEN IDS]' FROM".into());
    };
    let generator = GgufGenerator::load(std::path::Path::new(path), "parity", 2)?;
    let ids: Vec<u32> = serde_json::from_str(ids)?;
    for row in generator.logits(&ids, from.parse()?)? {
        println!("{}", serde_json::to_string(&row)?);
    }
    Ok(())
}
