//! Shared rows: their text, and how an instance holds what another one reported (kinds,
//! expiry into its own half-open probe, release when the row is cleared, resets).

use std::sync::Arc;

use super::*;
use crate::ports::memory::ManualClock;
use crate::providers::AuthScheme;
use crate::routing::health::{Admission, BreakerProfiles, CircuitState, Failure, Health};
use crate::routing::shared_reset::{RESET_ROW_MS, ResetTarget};

const T0: u64 = 1_700_000_000_000;
const KEYED: AuthScheme = AuthScheme::Bearer;
/// The default breaker's open time (`BreakerSettings::REMOTE`).
const OPEN_MS: u64 = 30_000;

fn setup() -> (Arc<ManualClock>, Health) {
    let clock = Arc::new(ManualClock::new(T0));
    (clock.clone(), Health::new(clock, BreakerProfiles::default()))
}

fn merge(health: &Health, rows: &[(&str, u64)]) {
    let rows: Vec<(String, u64)> = rows.iter().map(|(row, until)| ((*row).to_owned(), *until)).collect();
    health.merge_shared(&rows, health.share_epoch());
}

fn rejected(until_ms: u64, reason: RejectReason) -> Admission {
    Admission::Rejected { until_ms, reason }
}

#[test]
fn rows_carry_their_kind_and_rows_without_a_prefix_stay_rate_limits() {
    let deployment = HealthKey::deployment("openai", "gpt-4o");
    let endpoint = HealthKey::endpoint_of("http://127.0.0.1:9/v1");
    let cases = [
        (HealthKey::account("openai"), RejectReason::CoolingDown, "openai"),
        (HealthKey::account("openai"), RejectReason::AccountOut, "out=openai"),
        (deployment.clone(), RejectReason::CoolingDown, "account:openai/model:gpt-4o"),
        (deployment.clone(), RejectReason::BreakerOpen, "open=account:openai/model:gpt-4o"),
        (endpoint.clone(), RejectReason::BreakerOpen, "open=endpoint:http://127.0.0.1:9"),
    ];
    for (key, kind, row) in cases {
        assert_eq!(encode_row(&key, kind), row);
        assert_eq!(decode_row(row), (key, kind), "{row}");
    }
    // Rows older instances wrote: a bare account id, a deployment's text.
    assert_eq!(decode_row("conn_7f3a"), (HealthKey::account("conn_7f3a"), RejectReason::CoolingDown));
    assert_eq!(decode_row("account:a/model:m"), (HealthKey::deployment("a", "m"), RejectReason::CoolingDown));
}

#[test]
fn a_peers_open_breaker_holds_the_key_off_until_its_time_then_this_instance_probes_itself() {
    let (clock, health) = setup();
    let key = HealthKey::deployment("openai", "gpt-4o");
    let until = T0 + OPEN_MS;
    merge(&health, &[("open=account:openai/model:gpt-4o", until)]);
    assert_eq!(health.admit(&key, KEYED), rejected(until, RejectReason::BreakerOpen));
    assert_eq!(health.peek(&key, KEYED), rejected(until, RejectReason::BreakerOpen));
    assert_eq!(health.state(&key), CircuitState::Open);
    let report = health.snapshot();
    let shown = report.keys.iter().find(|k| k.key == key).expect("the held key is reported");
    assert_eq!(
        (shown.state, shown.open_until_ms, shown.open_source),
        (CircuitState::Open, Some(until), Some(Source::Peer))
    );
    assert_eq!(health.shared_rows(), vec![], "a peer's breaker is not shared again from here");
    assert_eq!(health.admit(&HealthKey::deployment("openai", "gpt-4o-mini"), KEYED), Admission::Allowed);

    clock.advance(OPEN_MS);
    assert_eq!(health.admit(&key, KEYED), Admission::Probe, "its own half-open probe");
    assert_eq!(health.admit(&key, KEYED), rejected(until + OPEN_MS, RejectReason::BreakerOpen), "one probe at a time");
    health.on_success(&key, KEYED, 10);
    assert_eq!(health.admit(&key, KEYED), Admission::Allowed);
}

#[test]
fn an_expired_peer_breaker_seen_only_by_the_next_read_still_leaves_a_probe() {
    let (clock, health) = setup();
    let key = HealthKey::endpoint_of("http://10.0.0.1:8080");
    merge(&health, &[("open=endpoint:http://10.0.0.1:8080", T0 + 1000)]);
    clock.advance(1000);
    // The row has expired in the store, so the next read no longer has it.
    merge(&health, &[]);
    assert_eq!(health.admit(&key, KEYED), Admission::Probe);
    health.on_failure(&key, KEYED, Failure::Connect);
    let reopened = T0 + 1000 + BreakerProfiles::default().endpoint.open_ms;
    assert_eq!(health.admit(&key, KEYED), rejected(reopened, RejectReason::BreakerOpen));
    assert_eq!(health.shared_rows(), vec![("open=endpoint:http://10.0.0.1:8080".to_owned(), reopened)], "now its own");
}

#[test]
fn an_account_out_row_holds_the_account_out_not_as_a_rate_limit() {
    let (_, health) = setup();
    let (out, limited) = (HealthKey::account("team"), HealthKey::deployment("solo", "m"));
    merge(&health, &[("out=team", T0 + 600_000), ("account:solo/model:m", T0 + 5000)]);
    assert_eq!(health.admit(&out, KEYED), rejected(T0 + 600_000, RejectReason::AccountOut));
    assert_eq!(health.admit(&limited, KEYED), rejected(T0 + 5000, RejectReason::CoolingDown));
    let reason = health.cooldown_reason(&out).unwrap_or_default();
    assert!(reason.contains("another instance"), "{reason}");
    let entries = health.cooldown_entries();
    let kinds: Vec<_> = entries.iter().map(|c| (c.key.clone(), c.kind, c.source)).collect();
    assert_eq!(
        kinds,
        vec![(out, RejectReason::AccountOut, Source::Peer), (limited, RejectReason::CoolingDown, Source::Peer)]
    );
}

#[test]
fn a_row_cleared_in_the_store_is_released_at_the_next_read() {
    let (_, health) = setup();
    let key = HealthKey::deployment("openai", "gpt-4o");
    merge(&health, &[("open=account:openai/model:gpt-4o", T0 + OPEN_MS), ("out=openai", T0 + 60_000)]);
    assert!(matches!(health.admit(&key, KEYED), Admission::Rejected { .. }));
    merge(&health, &[]);
    assert_eq!(health.admit(&key, KEYED), Admission::Allowed, "reset elsewhere: no probe phase either");
    assert_eq!(health.admit(&HealthKey::account("openai"), KEYED), Admission::Allowed);
    assert_eq!(health.state(&key), CircuitState::Closed);
}

#[test]
fn its_own_rows_read_back_stay_its_own_and_a_local_reset_is_not_undone_by_them() {
    let (_, health) = setup();
    let key = HealthKey::deployment("openai", "gpt-4o");
    (0..5).for_each(|_| health.on_failure(&key, KEYED, Failure::Status(500)));
    health.cool_down(&HealthKey::account("openai"), T0 + 60_000, "account: status 401", CoolKind::AccountOut);
    let own = health.shared_rows();
    assert_eq!(
        own,
        vec![("out=openai".to_owned(), T0 + 60_000), ("open=account:openai/model:gpt-4o".to_owned(), T0 + OPEN_MS)]
    );
    // Read back from the store: still this instance's own (reason kept, source local).
    let epoch = health.share_epoch();
    health.merge_shared(&own, epoch);
    let entries = health.cooldown_entries();
    assert_eq!(entries[0].source, Source::Local);
    assert_eq!(entries[0].reason.as_deref(), Some("account: status 401"));
    let report = health.snapshot();
    assert!(report.keys.iter().all(|k| k.open_source != Some(Source::Peer)));

    // A read that started before a reset must not bring back what the reset ended.
    let epoch = health.share_epoch();
    health.reset(Some(&HealthKey::account("openai")));
    health.merge_shared(&own, epoch);
    assert_eq!(health.admit(&key, KEYED), Admission::Allowed);
    assert_eq!(health.admit(&HealthKey::account("openai"), KEYED), Admission::Allowed);
    assert_eq!(health.shared_rows(), vec![]);
}

#[test]
fn a_reset_releases_what_peers_hold_for_the_keys_it_covers() {
    let (_, health) = setup();
    let rows =
        [("open=account:a/model:m", T0 + OPEN_MS), ("out=b", T0 + OPEN_MS), ("open=endpoint:http://h:1", T0 + OPEN_MS)];
    merge(&health, &rows);
    health.reset(Some(&HealthKey::account("a")));
    assert_eq!(
        health.admit(&HealthKey::deployment("a", "m"), KEYED),
        Admission::Allowed,
        "an account covers its models"
    );
    assert!(matches!(health.admit(&HealthKey::account("b"), KEYED), Admission::Rejected { .. }));
    health.reset_scope(crate::routing::health::KeyScope::Endpoint);
    assert_eq!(health.admit(&HealthKey::endpoint_of("http://h:1"), KEYED), Admission::Allowed);
    assert!(covers(Some(&HealthKey::account("a")), &HealthKey::deployment("a", "m")));
    assert!(!covers(Some(&HealthKey::account("a")), &HealthKey::deployment("ab", "m")));
    assert!(covers(None, &HealthKey::endpoint_of("http://h:1")));
}

#[test]
fn the_later_cooldown_wins_and_an_account_out_at_the_same_time() {
    let (limited, out) = ((10, CoolKind::RateLimited), (10, CoolKind::AccountOut));
    assert_eq!(later(Some(limited), Some(out)), Some(out));
    assert_eq!(later(Some(out), Some(limited)), Some(out));
    assert_eq!(later(Some((20, CoolKind::RateLimited)), Some(out)), Some((20, CoolKind::RateLimited)));
    assert_eq!(pick(Some(out), Some(out)), Some((10, CoolKind::AccountOut, Source::Local)), "a tie is ours");
    assert_eq!(pick(None, Some(limited)), Some((10, CoolKind::RateLimited, Source::Peer)));
}

#[test]
fn reset_rows_name_a_key_a_scope_or_everything_and_no_other_row_reads_as_one() {
    use crate::routing::health::KeyScope;
    let cases = [
        (ResetTarget::All, "reset=*"),
        (ResetTarget::Scope(KeyScope::Endpoint), "reset=scope=endpoint"),
        (ResetTarget::Key(HealthKey::account("down:a0")), "reset=account:down:a0"),
        (ResetTarget::Key(HealthKey::deployment("a", "m")), "reset=account:a/model:m"),
    ];
    for (target, row) in cases {
        assert_eq!(target.row(), row);
        assert_eq!(ResetTarget::from_row(row), Some(target));
    }
    for row in ["openai", "out=openai", "open=endpoint:http://h:1", "reset=scope=bogus", "reset=nonsense"] {
        assert_eq!(ResetTarget::from_row(row), None, "{row}");
    }
    assert!(ResetTarget::Key(HealthKey::account("a")).covers(&HealthKey::deployment("a", "m")));
    assert!(!ResetTarget::Scope(KeyScope::Account).covers(&HealthKey::deployment("a", "m")));
}

#[test]
fn a_reset_made_elsewhere_is_applied_once_and_what_this_instance_saw_itself_goes_too() {
    let (clock, health) = setup();
    let key = HealthKey::deployment("openai", "gpt-4o");
    (0..5).for_each(|_| health.on_failure(&key, KEYED, Failure::Status(500)));
    let own = health.shared_rows();
    assert_eq!(own.len(), 1);
    // Another instance reset the account; its row and this instance's own row (written before
    // it applied the reset) are both in the store.
    let reset = (ResetTarget::Key(HealthKey::account("openai")).row(), T0 + RESET_ROW_MS);
    let rows = vec![own[0].clone(), reset.clone()];
    let epoch = health.share_epoch();
    assert_eq!(health.merge_shared(&rows, epoch), vec![ResetTarget::Key(HealthKey::account("openai"))]);
    assert_eq!(health.admit(&key, KEYED), Admission::Allowed, "its own breaker is forgotten");
    assert_eq!(health.state(&key), CircuitState::Closed, "and the stale row read with the reset is not held");
    assert_eq!(health.shared_rows(), vec![], "nothing to write back");

    // Failures after the reset are new: seeing the reset row again forgets nothing.
    clock.advance(1000);
    (0..5).for_each(|_| health.on_failure(&key, KEYED, Failure::Status(500)));
    let epoch = health.share_epoch();
    assert_eq!(health.merge_shared(&[reset], epoch), vec![]);
    assert_eq!(health.state(&key), CircuitState::Open);
}

#[test]
fn a_reset_made_here_is_not_applied_again_when_its_row_comes_back() {
    let (_, health) = setup();
    let key = HealthKey::account("team");
    health.cool_down(&key, T0 + 60_000, "account: status 401", CoolKind::AccountOut);
    let row = health.reset_shared(&ResetTarget::Key(key.clone()));
    assert_eq!(row, ("reset=account:team".to_owned(), T0 + RESET_ROW_MS));
    assert_eq!(health.admit(&key, KEYED), Admission::Allowed);
    health.cool_down(&key, T0 + 90_000, "account: status 402", CoolKind::AccountOut);
    let epoch = health.share_epoch();
    assert_eq!(health.merge_shared(&[row], epoch), vec![]);
    assert_eq!(health.admit(&key, KEYED), rejected(T0 + 90_000, RejectReason::AccountOut), "learned after the reset");
}
