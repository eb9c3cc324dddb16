//! Records the git commit the binary was built from, for `fitrnn --version` and run manifests.
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    let full = if dirty && commit != "unknown" {
        format!("{commit}-dirty")
    } else {
        commit
    };
    println!("cargo:rustc-env=FITRNN_GIT_COMMIT={full}");
    // Rebuild when HEAD, the index or a branch moves. Ask git where those live: in a linked
    // worktree `.git` is a file, HEAD and the index are per worktree and the refs are shared.
    let git_path = |arg: &str| {
        Command::new("git")
            .args(["rev-parse", arg])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    };
    let mut watched = Vec::new();
    if let Some(dir) = git_path("--git-dir") {
        watched.push(dir.join("HEAD"));
        watched.push(dir.join("index"));
    }
    if let Some(common) = git_path("--git-common-dir") {
        watched.push(common.join("refs/heads"));
        watched.push(common.join("packed-refs"));
    }
    for p in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}
