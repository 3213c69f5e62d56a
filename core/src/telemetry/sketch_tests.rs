//! Sketch accuracy against exact quantiles, the memory bound and merge equivalence.

use proptest::prelude::*;

use super::*;

const QS: [f64; 12] = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1.0];

/// Deterministic xorshift64* in [0, 1).
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn exact(sorted: &[f64], q: f64) -> f64 {
    sorted[((q * sorted.len() as f64).ceil() as usize).saturating_sub(1)]
}

fn sketch_of(values: &[f64]) -> Sketch {
    let mut sketch = Sketch::default();
    values.iter().for_each(|&v| sketch.add(v));
    sketch
}

/// Every quantile in `qs` is within the sketch's relative accuracy of the exact one.
fn assert_accurate(values: &[f64], sketch: &Sketch, qs: &[f64]) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let alpha = sketch.relative_accuracy();
    for &q in qs {
        let truth = exact(&sorted, q);
        let estimate = sketch.quantile(q).unwrap();
        let error = (estimate - truth).abs();
        assert!(error <= alpha * truth * (1.0 + 1e-9), "q={q}: estimate {estimate}, exact {truth}");
    }
}

#[test]
fn uniform_quantiles_within_relative_accuracy() {
    let values: Vec<f64> = (1..=100_000).map(|i| i as f64 * 0.37).collect();
    let sketch = sketch_of(&values);
    assert_eq!(sketch.count(), 100_000);
    assert!((sketch.relative_accuracy() - 0.01).abs() < 1e-12);
    assert_accurate(&values, &sketch, &QS);
}

#[test]
fn exponential_quantiles_within_relative_accuracy() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Exponential latencies with a 250 ms mean plus a 20 ms floor, in random order.
    let values: Vec<f64> = (0..200_000).map(|_| 20.0 - 250.0 * (1.0 - rng.next_f64()).ln()).collect();
    let sketch = sketch_of(&values);
    assert_accurate(&values, &sketch, &QS);
}

#[test]
fn heavy_tail_and_coarse_accuracy() {
    let mut rng = Rng(42);
    // Pareto-like tail over several orders of magnitude, at 5% accuracy.
    let values: Vec<f64> = (0..50_000).map(|_| 10.0 / (1.0 - rng.next_f64()).powf(1.5)).collect();
    let mut sketch = Sketch::new(0.05, DEFAULT_MAX_BINS);
    values.iter().for_each(|&v| sketch.add(v));
    assert!((sketch.relative_accuracy() - 0.05).abs() < 1e-12);
    assert_accurate(&values, &sketch, &QS);
}

#[test]
fn constant_is_exact() {
    let mut sketch = Sketch::default();
    (0..10_000).for_each(|_| sketch.add(42.0));
    for q in QS {
        assert_eq!(sketch.quantile(q), Some(42.0));
    }
    assert_eq!(sketch.bin_count(), 1);
    assert_eq!(sketch.sum(), 420_000.0);
}

#[test]
fn single_value_and_empty() {
    let mut sketch = Sketch::default();
    assert!(sketch.is_empty());
    assert_eq!(sketch.quantile(0.5), None);
    assert_eq!((sketch.min(), sketch.max()), (None, None));
    sketch.add(123.456);
    for q in QS {
        assert_eq!(sketch.quantile(q), Some(123.456));
    }
    assert_eq!((sketch.min(), sketch.max()), (Some(123.456), Some(123.456)));
    assert_eq!(sketch.quantile(-0.1), None);
    assert_eq!(sketch.quantile(1.1), None);
    assert_eq!(sketch.quantile(f64::NAN), None);
}

#[test]
fn zeros_negatives_and_non_finite() {
    let mut sketch = Sketch::default();
    [0.0, -5.0, 0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 10.0, 20.0].iter().for_each(|&v| sketch.add(v));
    assert_eq!(sketch.count(), 5, "NaN and infinities are ignored");
    assert_eq!(sketch.quantile(0.0), Some(0.0));
    assert_eq!(sketch.quantile(0.5), Some(0.0), "the third of five values is a zero");
    let p75 = sketch.quantile(0.75).unwrap();
    assert!((p75 - 10.0).abs() <= 0.1, "{p75}");
    assert_eq!(sketch.quantile(1.0), Some(20.0));
    assert_eq!(sketch.min(), Some(0.0));
}

#[test]
fn invalid_parameters_are_clamped() {
    assert!((Sketch::new(f64::NAN, 10).relative_accuracy() - DEFAULT_RELATIVE_ACCURACY).abs() < 1e-12);
    assert!((Sketch::new(2.0, 10).relative_accuracy() - 0.5).abs() < 1e-12);
    assert!((Sketch::new(0.0, 10).relative_accuracy() - 1e-4).abs() < 1e-12);
    let mut one_bin = Sketch::new(0.01, 0);
    (1..100).for_each(|v| one_bin.add(f64::from(v)));
    assert_eq!(one_bin.bin_count(), 1);
    assert_eq!(one_bin.quantile(1.0), Some(99.0));
}

#[test]
fn memory_stays_bounded_over_a_wide_range() {
    let mut rng = Rng(7);
    let mut sketch = Sketch::default();
    let mut values = Vec::with_capacity(1_000_000);
    for _ in 0..1_000_000 {
        // Log-uniform over 18 orders of magnitude: ~2080 buckets at 1%, twice the cap.
        let v = 10f64.powf(-6.0 + 18.0 * rng.next_f64());
        values.push(v);
        sketch.add(v);
        assert!(sketch.bin_count() <= DEFAULT_MAX_BINS);
    }
    assert_eq!(sketch.bin_count(), DEFAULT_MAX_BINS);
    assert_eq!(sketch.count(), 1_000_000);
    // The kept buckets span ~6·10⁸ down from 10¹²: everything above ~2·10³ (the top ~47%) is exact
    // to 1%; the collapsed low end only keeps its count.
    assert_accurate(&values, &sketch, &[0.6, 0.75, 0.9, 0.99, 0.999, 1.0]);
    assert_eq!(sketch.quantile(0.0), Some(sketch.min().unwrap()));
}

#[test]
fn small_cap_collapses_the_lowest_buckets() {
    let mut sketch = Sketch::new(0.01, 8);
    (1..=1000).for_each(|v| sketch.add(f64::from(v)));
    assert_eq!(sketch.bin_count(), 8);
    // The top buckets still answer high quantiles within 1%.
    let p999 = sketch.quantile(0.999).unwrap();
    assert!((p999 - 999.0).abs() <= 9.99, "{p999}");
    assert_eq!(sketch.bins.iter().map(|&(_, n)| n).sum::<u64>(), 1000);
}

fn assert_same(a: &Sketch, b: &Sketch) {
    assert_eq!(a.bins, b.bins);
    assert_eq!((a.zero, a.count), (b.zero, b.count));
    assert_eq!((a.min(), a.max()), (b.min(), b.max()));
    assert!((a.sum - b.sum).abs() <= 1e-9 * a.sum.abs().max(1.0));
    for q in QS {
        assert_eq!(a.quantile(q), b.quantile(q));
    }
}

#[test]
fn merge_equals_adding_all() {
    let mut rng = Rng(99);
    let values: Vec<f64> = (0..30_000).map(|i| if i % 97 == 0 { 0.0 } else { 1000.0 * rng.next_f64() }).collect();
    let all = sketch_of(&values);
    let mut merged = Sketch::default();
    for part in values.chunks(7_000) {
        merged.merge(&sketch_of(part));
    }
    merged.merge(&Sketch::default());
    assert_same(&merged, &all);
    assert_accurate(&values, &merged, &QS);
}

#[test]
fn merge_with_other_accuracy_stays_close() {
    let values: Vec<f64> = (1..=10_000).map(f64::from).collect();
    let mut fine = Sketch::new(0.001, 10_000);
    values.iter().for_each(|&v| fine.add(v));
    let mut coarse = Sketch::default();
    coarse.merge(&fine);
    assert_eq!(coarse.count(), 10_000);
    // One extra step of rounding: within 1% + 0.1%.
    for q in QS {
        let truth = exact(&values, q);
        let estimate = coarse.quantile(q).unwrap();
        assert!((estimate - truth).abs() <= 0.0111 * truth, "q={q}: {estimate} vs {truth}");
    }
}

proptest! {
    #[test]
    fn merge_equals_adding_all_under_collapse(
        values in prop::collection::vec(0.0f64..1e7, 1..400),
        split in 0usize..400,
        cap in 1usize..40,
    ) {
        let split = split.min(values.len());
        let one = |vs: &[f64]| {
            let mut s = Sketch::new(0.02, cap);
            vs.iter().for_each(|&v| s.add(v));
            s
        };
        let all = one(&values);
        let mut merged = one(&values[..split]);
        merged.merge(&one(&values[split..]));
        prop_assert!(merged.bin_count() <= cap);
        assert_same(&merged, &all);
    }
}
