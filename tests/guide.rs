//! docs/guide.md: every code block runs somewhere, as written. This file runs the shell blocks
//! (the CLI and the HTTP server, with the `memorable` this package builds first on `PATH`),
//! checks that every block's language has a runner and that each *setup* block names the
//! suite that runs its commands. Rust blocks are doc tests (`src/lib.rs`); Python, JavaScript,
//! C and the MCP configuration run in memorable-py, memorable-node, memorable-c and tests/mcp.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A fenced block: the line its code starts on, its info string and its code.
struct Block {
    line: usize,
    info: String,
    code: String,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn blocks() -> Vec<Block> {
    blocks_of("docs/guide.md")
}

fn blocks_of(doc: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(repo().join(doc)).unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match (open.as_mut(), line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block { line: i + 2, info: info.trim().to_owned(), code: String::new() })
            }
            (Some(_), Some("")) => blocks.push(open.take().unwrap()),
            (Some(block), _) => {
                block.code.push_str(line);
                block.code.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "{doc}: a code block is not closed");
    blocks
}

#[test]
fn every_block_has_a_runner() {
    // rust: doc tests; python / js / c / json: the bindings' and the MCP suites; sh: below.
    const RUN: [&str; 7] = ["rust", "python", "js", "c", "json", "sh", "sh setup"];
    let blocks = blocks();
    assert!(blocks.len() > 10, "{} blocks", blocks.len());
    for b in &blocks {
        assert!(
            RUN.contains(&b.info.as_str()),
            "docs/guide.md:{}: no test runs a ```{} block",
            b.line,
            b.info
        );
    }
}

/// Each command of a setup block ends with `# run by <script or Makefile> ...`: that file
/// exists, holds the command's program, and is itself run by CI (`.ci/run` or scripts/test.sh).
#[test]
fn setup_blocks_name_the_suite_that_runs_them() {
    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap()
        + &std::fs::read_to_string(repo().join("scripts/test.sh")).unwrap();
    let setups: Vec<Block> = blocks().into_iter().filter(|b| b.info == "sh setup").collect();
    assert!(setups.len() >= 4);
    for b in setups {
        for line in b.code.lines() {
            let (command, comment) = line
                .split_once('#')
                .unwrap_or_else(|| panic!("docs/guide.md:{}: `{line}` says no runner", b.line));
            let runner =
                comment.trim().strip_prefix("run by ").and_then(|r| r.split([' ', ',', ';']).next()).unwrap();
            let program = command.split_whitespace().next().unwrap();
            let script =
                std::fs::read_to_string(repo().join(runner)).unwrap_or_else(|e| panic!("{runner}: {e}"));
            assert!(script.contains(program), "docs/guide.md:{}: {runner} never runs `{program}`", b.line);
            let suite = runner.split('/').next().unwrap();
            assert!(
                runner == ".ci/run" || ci.contains(runner) || ci.contains(suite),
                "{runner} is not run by CI"
            );
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Run a shell block in a scratch directory as its own process group (a block that starts a
/// server in the background and then fails leaves nothing running). The fixed port 8420 of
/// the text becomes a free one, so the test can run beside anything.
fn run_shell(block: &Block, bin_dir: &Path, env: &[(&str, &str)]) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let script = block.code.replace("8420", &free_port().to_string());
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_owned()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(scratch.path())
        .env("PATH", path)
        .env_remove("MEMORABLE_STORE")
        .env_remove("MEMORABLE_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    // Read the output beside the wait, so a chatty block cannot fill the pipe and stall.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let out = reader.join().unwrap();
    match status {
        Some(s) => assert!(s.success(), "line {}: the block failed ({s}):\n{out}", block.line),
        None => panic!("line {}: the block did not finish in 180 s:\n{out}", block.line),
    }
    out
}

#[test]
fn shell_blocks_run() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_memorable"));
    let shells: Vec<Block> = blocks().into_iter().filter(|b| b.info == "sh").collect();
    assert!(shells.len() >= 2);
    for b in &shells {
        run_shell(b, bin.parent().unwrap(), &[]);
    }
}

/// docs/deployment.md's restore drill (its ```sh drill block), as an operator runs it on a
/// backup directory: against backups of a directory store and of a PostgreSQL store (the
/// cluster scripts/test.sh starts; MEMORABLE_SKIP_PG=1 skips that half, saying so). The
/// drill must show the user's memory from the restored copy.
#[test]
fn the_restore_drill_restores_either_backend() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_memorable"));
    let drills: Vec<Block> =
        blocks_of("docs/deployment.md").into_iter().filter(|b| b.info == "sh drill").collect();
    assert_eq!(drills.len(), 1);
    let text = "The spare key is under the blue flowerpot";
    let cli = |args: &[&str]| {
        let out = Command::new(&bin).args(["--embedder", "hashing"]).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let mut stores = Vec::new();
    let tmp = tempfile::tempdir().unwrap();
    stores.push(tmp.path().join("store").to_str().unwrap().to_owned());
    match std::env::var("MEMORABLE_TEST_PG_URL") {
        Ok(admin) => {
            let name = format!("guide_drill_{}", std::process::id());
            let ok = Command::new("psql")
                .args([&admin, "-qc", &format!("CREATE DATABASE {name}")])
                .status()
                .unwrap();
            assert!(ok.success());
            stores.push(format!("{}/{name}", admin.rsplit_once('/').unwrap().0));
        }
        Err(_) => {
            assert_eq!(
                std::env::var("MEMORABLE_SKIP_PG").as_deref(),
                Ok("1"),
                "MEMORABLE_TEST_PG_URL is not set"
            );
            eprintln!("MEMORABLE_SKIP_PG=1: the drill on a PostgreSQL store skipped");
        }
    }
    for (i, store) in stores.iter().enumerate() {
        cli(&["--store", store, "remember", "--user", "alice", text]);
        cli(&["--store", store, "remember", "--user", "bob", "Bob's own note"]);
        let backups = tmp.path().join(format!("backups-{i}"));
        std::fs::create_dir(&backups).unwrap();
        let file = backups.join("memorable-20261207T120000000Z.mrbak");
        cli(&["--store", store, "backup", file.to_str().unwrap()]);
        let out = run_shell(
            &drills[0],
            bin.parent().unwrap(),
            &[("MEMORABLE_BACKUP_DIR", backups.to_str().unwrap()), ("DRILL_USER", "alice")],
        );
        assert!(out.contains(text) && !out.contains("Bob's own note"), "{store}: {out}");
    }
}
