//! Tests of target and account ordering: distributions counted over many picks, fixed orders,
//! health, stickiness, determinism per seed, and permutation properties for every policy.

use proptest::prelude::*;

use super::*;

const PICKS: usize = 10_000;

const ALL_STRATEGIES: [ComboStrategy; 7] = [
    ComboStrategy::Priority,
    ComboStrategy::RoundRobin,
    ComboStrategy::Weighted,
    ComboStrategy::Random,
    ComboStrategy::LeastUsed,
    ComboStrategy::CostOptimized,
    ComboStrategy::LatencyAware,
];

const ALL_SELECTIONS: [AccountSelection; 4] = [
    AccountSelection::FillFirst,
    AccountSelection::RoundRobin,
    AccountSelection::LeastRecentlyUsed,
    AccountSelection::Random,
];

fn target(key: &str) -> TargetCandidate {
    TargetCandidate {
        key: key.to_owned(),
        weight: 1,
        cost_per_mtok: None,
        latency_ms: None,
        error_rate: 0.0,
        requests: 0,
        healthy: true,
    }
}

fn targets(n: usize) -> Vec<TargetCandidate> {
    (0..n).map(|i| target(&format!("p{i}/m"))).collect()
}

fn account(id: &str, priority: i64) -> AccountCandidate {
    AccountCandidate { id: id.to_owned(), priority, last_used_ms: None, healthy: true }
}

fn accounts(n: usize) -> Vec<AccountCandidate> {
    (0..n).map(|i| account(&format!("a{i}"), 0)).collect()
}

/// How often each index came first over `PICKS` target orderings.
fn first_counts(selector: &Selector, strategy: ComboStrategy, candidates: &[TargetCandidate]) -> Vec<usize> {
    let mut counts = vec![0; candidates.len()];
    for _ in 0..PICKS {
        counts[selector.order_targets("combo", strategy, candidates)[0]] += 1;
    }
    counts
}

fn assert_share(count: usize, expected: f64, tolerance: f64) {
    let share = count as f64 / PICKS as f64;
    assert!((share - expected).abs() <= tolerance, "share {share} not within {tolerance} of {expected}");
}

fn is_permutation(order: &[usize], n: usize) -> bool {
    let mut sorted = order.to_vec();
    sorted.sort_unstable();
    sorted == (0..n).collect::<Vec<_>>()
}

#[test]
fn priority_keeps_listed_order() {
    let selector = Selector::new(1);
    for _ in 0..3 {
        assert_eq!(selector.order_targets("c", ComboStrategy::Priority, &targets(4)), vec![0, 1, 2, 3]);
    }
}

#[test]
fn round_robin_is_exactly_even_and_rotates() {
    let selector = Selector::new(1);
    let candidates = targets(4);
    assert_eq!(selector.order_targets("combo", ComboStrategy::RoundRobin, &candidates), vec![0, 1, 2, 3]);
    assert_eq!(selector.order_targets("combo", ComboStrategy::RoundRobin, &candidates), vec![1, 2, 3, 0]);
    let counts = first_counts(&selector, ComboStrategy::RoundRobin, &candidates);
    assert_eq!(counts, vec![PICKS / 4; 4]);
}

#[test]
fn round_robin_counters_are_per_combo() {
    let selector = Selector::new(1);
    let candidates = targets(3);
    assert_eq!(selector.order_targets("a", ComboStrategy::RoundRobin, &candidates)[0], 0);
    assert_eq!(selector.order_targets("a", ComboStrategy::RoundRobin, &candidates)[0], 1);
    assert_eq!(selector.order_targets("b", ComboStrategy::RoundRobin, &candidates)[0], 0);
    assert_eq!(selector.order_targets("a", ComboStrategy::RoundRobin, &candidates)[0], 2);
}

#[test]
fn round_robin_rotates_over_healthy_only() {
    let selector = Selector::new(1);
    let mut candidates = targets(3);
    candidates[1].healthy = false;
    let counts = first_counts(&selector, ComboStrategy::RoundRobin, &candidates);
    assert_eq!(counts, vec![PICKS / 2, 0, PICKS / 2]);
    assert_eq!(selector.order_targets("combo", ComboStrategy::RoundRobin, &candidates), vec![0, 2, 1]);
    assert_eq!(selector.order_targets("combo", ComboStrategy::RoundRobin, &candidates), vec![2, 0, 1]);
}

#[test]
fn weighted_three_to_one_is_near_75_25() {
    let selector = Selector::new(42);
    let mut candidates = targets(2);
    candidates[0].weight = 3;
    candidates[1].weight = 1;
    let counts = first_counts(&selector, ComboStrategy::Weighted, &candidates);
    assert_share(counts[0], 0.75, 0.02);
    assert_share(counts[1], 0.25, 0.02);
}

#[test]
fn weighted_zero_never_first_and_rest_by_descending_weight() {
    let selector = Selector::new(7);
    let mut candidates = targets(4);
    for (c, w) in candidates.iter_mut().zip([0, 1, 5, 2]) {
        c.weight = w;
    }
    for _ in 0..PICKS {
        let order = selector.order_targets("c", ComboStrategy::Weighted, &candidates);
        assert_ne!(order[0], 0);
        assert_eq!(order[3], 0, "weight 0 goes last: {order:?}");
        let rest: Vec<u32> = order[1..].iter().map(|&i| candidates[i].weight).collect();
        assert!(rest.windows(2).all(|w| w[0] >= w[1]), "rest not descending: {order:?}");
    }
}

#[test]
fn weighted_all_zero_still_picks_every_target() {
    let selector = Selector::new(7);
    let mut candidates = targets(3);
    candidates.iter_mut().for_each(|c| c.weight = 0);
    let counts = first_counts(&selector, ComboStrategy::Weighted, &candidates);
    counts.iter().for_each(|&c| assert_share(c, 1.0 / 3.0, 0.03));
}

#[test]
fn random_is_roughly_uniform() {
    let selector = Selector::new(99);
    let candidates = targets(4);
    let counts = first_counts(&selector, ComboStrategy::Random, &candidates);
    counts.iter().for_each(|&c| assert_share(c, 0.25, 0.02));
    // Every position, not just the first, is shuffled.
    let mut last = [0; 4];
    for _ in 0..PICKS {
        last[selector.order_targets("c", ComboStrategy::Random, &candidates)[3]] += 1;
    }
    last.iter().for_each(|&c| assert_share(c, 0.25, 0.02));
}

#[test]
fn least_used_ascends_by_requests_ties_in_listed_order() {
    let selector = Selector::new(1);
    let mut candidates = targets(4);
    for (c, r) in candidates.iter_mut().zip([30, 10, 20, 10]) {
        c.requests = r;
    }
    assert_eq!(selector.order_targets("c", ComboStrategy::LeastUsed, &candidates), vec![1, 3, 2, 0]);
}

#[test]
fn cost_optimized_cheapest_first_unknown_last() {
    let selector = Selector::new(1);
    let mut candidates = targets(5);
    for (c, cost) in candidates.iter_mut().zip([None, Some(15.0), Some(0.5), Some(f64::NAN), Some(0.5)]) {
        c.cost_per_mtok = cost;
    }
    assert_eq!(selector.order_targets("c", ComboStrategy::CostOptimized, &candidates), vec![2, 4, 1, 0, 3]);
}

#[test]
fn latency_aware_prefers_fast_but_spreads_by_two_choices() {
    let selector = Selector::new(5);
    let mut candidates = targets(3);
    for (c, l) in candidates.iter_mut().zip([300.0, 100.0, 200.0]) {
        c.latency_ms = Some(l);
    }
    let counts = first_counts(&selector, ComboStrategy::LatencyAware, &candidates);
    // The fastest wins every pair it is in (2 of 3), the middle one the remaining pair; the
    // slowest never wins a pair.
    assert_share(counts[1], 2.0 / 3.0, 0.02);
    assert_share(counts[2], 1.0 / 3.0, 0.02);
    assert_eq!(counts[0], 0);
    let order = selector.order_targets("c", ComboStrategy::LatencyAware, &candidates);
    assert_eq!(&order[1..], if order[0] == 1 { [2, 0] } else { [1, 0] });
}

#[test]
fn latency_aware_penalises_errors() {
    let selector = Selector::new(5);
    let mut candidates = targets(2);
    candidates[0].latency_ms = Some(100.0);
    candidates[0].error_rate = 0.5; // scores 300
    candidates[1].latency_ms = Some(200.0);
    let counts = first_counts(&selector, ComboStrategy::LatencyAware, &candidates);
    assert_eq!(counts, vec![0, PICKS]);
}

#[test]
fn latency_aware_tries_unmeasured_targets() {
    let selector = Selector::new(5);
    let mut candidates = targets(3);
    candidates[0].latency_ms = Some(100.0);
    candidates[1].latency_ms = Some(400.0);
    // candidates[2] is new: it ties with the fastest, so it wins about half its pairs with it.
    let counts = first_counts(&selector, ComboStrategy::LatencyAware, &candidates);
    assert_eq!(counts[1], 0);
    assert_share(counts[2], 0.5, 0.03);
    assert_share(counts[0], 0.5, 0.03);
}

#[test]
fn unhealthy_targets_always_last_in_listed_order() {
    let selector = Selector::new(3);
    let mut candidates = targets(5);
    candidates[0].healthy = false;
    candidates[3].healthy = false;
    candidates[0].weight = 100;
    candidates[0].latency_ms = Some(1.0);
    candidates[0].cost_per_mtok = Some(0.0);
    for strategy in ALL_STRATEGIES {
        for _ in 0..200 {
            let order = selector.order_targets("c", strategy, &candidates);
            assert_eq!(&order[3..], [0, 3], "{strategy:?}: {order:?}");
        }
    }
}

#[test]
fn empty_and_single_candidates() {
    let selector = Selector::new(0);
    for strategy in ALL_STRATEGIES {
        assert!(selector.order_targets("c", strategy, &[]).is_empty());
        assert_eq!(selector.order_targets("c", strategy, &targets(1)), vec![0]);
        let mut sick = targets(1);
        sick[0].healthy = false;
        assert_eq!(selector.order_targets("c", strategy, &sick), vec![0]);
    }
    for selection in ALL_SELECTIONS {
        assert!(selector.order_accounts("p", selection, 3, &[]).is_empty());
        assert_eq!(selector.order_accounts("p", selection, 3, &accounts(1)), vec![0]);
    }
}

#[test]
fn same_seed_same_orders_different_seed_different() {
    let run = |seed| {
        let selector = Selector::new(seed);
        let mut candidates = targets(5);
        candidates.iter_mut().enumerate().for_each(|(i, c)| {
            c.weight = i as u32 + 1;
            c.latency_ms = Some(100.0 * (i + 1) as f64);
        });
        let mut orders = Vec::new();
        for strategy in [ComboStrategy::Weighted, ComboStrategy::Random, ComboStrategy::LatencyAware] {
            for _ in 0..50 {
                orders.push(selector.order_targets("c", strategy, &candidates));
            }
        }
        for _ in 0..50 {
            orders.push(selector.order_accounts("p", AccountSelection::Random, 1, &accounts(5)));
        }
        orders
    };
    assert_eq!(run(1234), run(1234));
    assert_ne!(run(1234), run(4321));
}

#[test]
fn fill_first_by_priority_then_id() {
    let selector = Selector::new(1);
    let list = vec![account("c", 2), account("b", 1), account("a", 2), account("d", -1)];
    assert_eq!(selector.order_accounts("p", AccountSelection::FillFirst, 0, &list), vec![3, 1, 2, 0]);
}

#[test]
fn account_round_robin_without_window_rotates_every_call() {
    for window in [0, 1] {
        let selector = Selector::new(1);
        let list = accounts(3);
        let firsts: Vec<usize> =
            (0..6).map(|_| selector.order_accounts("p", AccountSelection::RoundRobin, window, &list)[0]).collect();
        assert_eq!(firsts, vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(selector.order_accounts("p", AccountSelection::RoundRobin, window, &list), vec![0, 1, 2]);
        assert_eq!(selector.order_accounts("p", AccountSelection::RoundRobin, window, &list), vec![1, 2, 0]);
    }
}

#[test]
fn sticky_window_keeps_n_in_a_row() {
    let selector = Selector::new(1);
    let list = accounts(3);
    let firsts: Vec<usize> =
        (0..9).map(|_| selector.order_accounts("p", AccountSelection::RoundRobin, 3, &list)[0]).collect();
    assert_eq!(firsts, vec![0, 0, 0, 1, 1, 1, 2, 2, 2]);
    let selector = Selector::new(1);
    let mut counts = [0; 3];
    for _ in 0..9_000 {
        counts[selector.order_accounts("p", AccountSelection::RoundRobin, 3, &list)[0]] += 1;
    }
    assert_eq!(counts, [3_000; 3], "whole cycles of 3 x 3 calls are exactly even");
}

#[test]
fn sticky_account_turning_unhealthy_moves_on_at_once() {
    let selector = Selector::new(1);
    let mut list = accounts(3);
    assert_eq!(selector.order_accounts("p", AccountSelection::RoundRobin, 5, &list)[0], 0);
    list[0].healthy = false;
    assert_eq!(selector.order_accounts("p", AccountSelection::RoundRobin, 5, &list), vec![1, 2, 0]);
    list[0].healthy = true;
    // Account 1 keeps its window though 0 is back.
    assert_eq!(selector.order_accounts("p", AccountSelection::RoundRobin, 5, &list)[0], 1);
}

#[test]
fn account_round_robin_is_per_provider() {
    let selector = Selector::new(1);
    let list = accounts(2);
    assert_eq!(selector.order_accounts("x", AccountSelection::RoundRobin, 1, &list)[0], 0);
    assert_eq!(selector.order_accounts("x", AccountSelection::RoundRobin, 1, &list)[0], 1);
    assert_eq!(selector.order_accounts("y", AccountSelection::RoundRobin, 1, &list)[0], 0);
}

#[test]
fn least_recently_used_never_used_first_then_oldest() {
    let selector = Selector::new(1);
    let mut list = accounts(5);
    for (a, t) in list.iter_mut().zip([Some(500), None, Some(100), Some(300), None]) {
        a.last_used_ms = t;
    }
    assert_eq!(selector.order_accounts("p", AccountSelection::LeastRecentlyUsed, 0, &list), vec![1, 4, 2, 3, 0]);
}

#[test]
fn random_accounts_roughly_uniform() {
    let selector = Selector::new(11);
    let list = accounts(4);
    let mut counts = [0; 4];
    for _ in 0..PICKS {
        counts[selector.order_accounts("p", AccountSelection::Random, 0, &list)[0]] += 1;
    }
    counts.iter().for_each(|&c| assert_share(c, 0.25, 0.02));
}

#[test]
fn unhealthy_accounts_always_last_in_listed_order() {
    let selector = Selector::new(3);
    let mut list = vec![account("a", 0), account("b", 5), account("c", 1), account("d", 9)];
    list[0].healthy = false;
    list[2].healthy = false;
    for selection in ALL_SELECTIONS {
        for _ in 0..100 {
            let order = selector.order_accounts("p", selection, 2, &list);
            assert_eq!(&order[2..], [0, 2], "{selection:?}: {order:?}");
        }
    }
}

proptest! {
    #[test]
    fn targets_always_a_healthy_first_permutation(
        seed: u64,
        strategy in prop::sample::select(ALL_STRATEGIES.to_vec()),
        specs in prop::collection::vec(
            (0u32..5, prop::option::of(0.0f64..50.0), prop::option::of(0.0f64..2000.0), 0.0f64..1.0, 0u64..100, any::<bool>()),
            0..8,
        ),
    ) {
        let candidates: Vec<TargetCandidate> = specs
            .iter()
            .enumerate()
            .map(|(i, &(weight, cost, latency, error_rate, requests, healthy))| TargetCandidate {
                key: format!("p{i}/m"),
                weight,
                cost_per_mtok: cost,
                latency_ms: latency,
                error_rate,
                requests,
                healthy,
            })
            .collect();
        let selector = Selector::new(seed);
        for _ in 0..3 {
            let order = selector.order_targets("c", strategy, &candidates);
            prop_assert!(is_permutation(&order, candidates.len()));
            let healthy_count = candidates.iter().filter(|c| c.healthy).count();
            prop_assert!(order[..healthy_count].iter().all(|&i| candidates[i].healthy));
        }
    }

    #[test]
    fn accounts_always_a_healthy_first_permutation(
        seed: u64,
        selection in prop::sample::select(ALL_SELECTIONS.to_vec()),
        window in 0u32..4,
        specs in prop::collection::vec((-3i64..3, prop::option::of(0u64..1000), any::<bool>()), 0..8),
    ) {
        let list: Vec<AccountCandidate> = specs
            .iter()
            .enumerate()
            .map(|(i, &(priority, last_used_ms, healthy))| AccountCandidate {
                id: format!("a{i}"),
                priority,
                last_used_ms,
                healthy,
            })
            .collect();
        let selector = Selector::new(seed);
        for _ in 0..5 {
            let order = selector.order_accounts("p", selection, window, &list);
            prop_assert!(is_permutation(&order, list.len()));
            let healthy_count = list.iter().filter(|a| a.healthy).count();
            prop_assert!(order[..healthy_count].iter().all(|&i| list[i].healthy));
        }
    }
}
