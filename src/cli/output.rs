use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

/// A plain table: no borders, so it pastes cleanly into tickets and greps well.
pub fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(NOTHING).set_content_arrangement(ContentArrangement::Disabled).set_header(headers.to_vec());
    table
}

pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("gpvault: cannot print JSON: {e}"),
    }
}

/// A run's summary, the same lines the TUI's status pane shows: failures first with their
/// reasons, then what was done, then the counts.
pub fn print_summary(summary: &gpvault::ops::RunSummary, what: &str) {
    use gpvault::ops::ItemStatus;
    for result in &summary.results {
        let (gpo, name) = (&result.item.gpo, &result.item.name);
        match &result.status {
            ItemStatus::Succeeded(made) => println!("ok      {gpo}  {name}  -> {made}"),
            ItemStatus::Failed(_) | ItemStatus::Cancelled => {
                println!("FAILED  {gpo}  {name}: {}", result.reason().unwrap_or_default())
            }
        }
    }
    for problem in &summary.closing {
        println!("FAILED  after the GPOs: {problem}");
    }
    println!("{}; {what}", summary.counts());
}

/// A plan, for `--dry-run`: what would change, item by item; nothing is written.
pub fn print_plan(plan: &gpvault::ops::PlanDescription, json: bool) {
    if json {
        print_json(plan);
        return;
    }
    println!("{} (dry run: nothing is written)", plan.title);
    for change in &plan.changes {
        let who = change.item.as_ref().map(|i| format!("{}  {}", i.gpo, i.name)).unwrap_or_default();
        println!("  {}  {who}", change.action);
        println!("      from {}", change.from);
        println!("      to   {}", change.to);
    }
    for note in &plan.notes {
        println!("note: {note}");
    }
}
