//! Rust quick start (the README shows this file; `scripts/test.sh` runs it).
use memorable::{Memorable, NewMemory, Recall};

fn main() -> memorable::Result<()> {
    let dir = std::env::temp_dir().join(format!("memorable-quickstart-{}", std::process::id()));
    let mem = Memorable::open(&dir)?;

    mem.remember(NewMemory::new("alice", "I adopted a beagle puppy named Biscuit").speaker("alice"))?;
    mem.remember(NewMemory::new("alice", "My sister Lena visits from Lisbon in June").tags(["family"]))?;
    mem.remember(NewMemory::new("bob", "Bob's cat is called Whiskers"))?;

    for hit in mem.recall(&Recall::new("alice", "what is the puppy's name?").limit(2))? {
        println!("{:.3}  {}", hit.score, hit.memory.text);
    }
    let best = &mem.recall(&Recall::new("alice", "Biscuit").limit(1))?[0];
    assert_eq!(best.memory.text, "I adopted a beagle puppy named Biscuit");

    mem.close()?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
