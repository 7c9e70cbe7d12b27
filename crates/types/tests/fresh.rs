//! The checked-in declarations are the ones the Rust types generate now, so
//! the TypeScript side cannot drift from the core.

#[test]
fn checked_in_declarations_are_fresh() {
    let path = ialp_types::output_path();
    let on_disk = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let fresh = ialp_types::typescript();
    if on_disk != fresh {
        let line = on_disk
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or(on_disk.lines().count().min(fresh.lines().count()), |i| i)
            + 1;
        panic!(
            "{} is stale (first difference at line {line}); run `npm run gen:types` and commit it",
            path.display()
        );
    }
}

#[test]
fn declares_the_surface() {
    let ts = ialp_types::typescript();
    for name in [
        "export type TrainConfig = ",
        "export type EnvSpec = ",
        "export type Progress = ",
        "export type WorldInfo = ",
        "export interface WorldQueries {",
        "categorySizes(): Array<CategorySize>;",
        "preferenceRequests(config: Request<RequestConfig>): Array<PreferenceRequest>;",
        "export const CORE_DEFAULTS = {",
    ] {
        assert!(ts.contains(name), "missing {name:?} in:\n{ts}");
    }
    // u64 seeds cross as numbers, not bigint
    assert!(!ts.contains("bigint"), "{ts}");
}
