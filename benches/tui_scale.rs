//! The TUI at the size of real estates (issue 9): a domain of 10,000 GPOs in the tree, then one
//! of 100,000 (the folder of all GPOs is a list of 100,000 rows), on ratatui's TestBackend at
//! 120x40. Prints the time from the data arriving to the first frame, the slowest keypress of
//! each kind (handled and drawn), and the process's peak memory (VmHWM). Targets: first frame
//! ≤ 200 ms, keypress ≤ 50 ms, memory < 200 MB. Figures, not pass/fail.
//!
//! Run: `cargo bench --bench tui_scale` (optimised), or on a shared machine without building every
//! dependency optimised, the app and ratatui optimised over debug dependencies:
//! `cargo bench --profile dev --bench tui_scale --config profile.dev.package.gpvault.opt-level=3
//! --config profile.dev.package.ratatui-core.opt-level=3 --config
//! profile.dev.package.ratatui-widgets.opt-level=3 --config profile.dev.package.ratatui.opt-level=3`.
//! Give sizes after `--` to run only those (`-- 10000`).
//!
//! The TUI lives in the binary, not the library, so this bench builds its modules from their
//! files, as the binary does. What the bench does not use (most of the app, and the TUI's tests
//! when built in test mode) is unused here on purpose; the binary's own build lints it.

#![allow(unused)]

#[path = "../src/front.rs"]
mod front;
#[path = "../src/tui/mod.rs"]
mod tui;

use std::time::Duration;

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The middle of three figures.
fn median(mut three: Vec<Duration>) -> Duration {
    three.sort();
    three[three.len() / 2]
}

fn main() {
    let profile = if cfg!(debug_assertions) { "dev profile, debug assertions on" } else { "optimised" };
    // Sizes from the command line (`cargo bench --bench tui_scale -- 10000`), else both.
    let mut sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000];
    }
    println!("gpvault TUI scale, {profile}, TestBackend 120x40, medians of 3 runs");
    for gpos in sizes {
        let runs: Vec<tui::scale::Figures> = (0..3).map(|_| tui::scale::measure(gpos)).collect();
        println!();
        println!("{gpos} GPOs");
        let first = median(runs.iter().map(|f| f.first_frame).collect());
        println!("  first frame after the data arrives   {:>10}", ms(first));
        for (k, (what, _, presses)) in runs[0].keys.iter().enumerate() {
            let slowest = median(runs.iter().map(|f| f.keys[k].1).collect());
            println!("  {what:<36} {:>10}  (slowest of {presses})", ms(slowest));
        }
        let slowest = median(runs.iter().map(|f| f.slowest_key()).collect());
        println!("  slowest keypress                     {:>10}", ms(slowest));
        match runs.last().and_then(|f| f.peak_kib) {
            Some(kib) => println!("  peak memory (VmHWM) so far            {:>7.1} MiB", kib as f64 / 1024.0),
            None => println!("  peak memory: /proc/self/status not readable"),
        }
    }
}
