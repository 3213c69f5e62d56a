//! A streaming quantile sketch in the style of DDSketch: values fall into logarithmic buckets,
//! so every quantile comes back within a fixed relative error, in memory bounded by a cap on the
//! number of non-empty buckets (past the cap the lowest buckets collapse into one).
//!
//! Quantiles use the nearest-rank definition: `quantile(q)` estimates the `⌈q·n⌉`-th smallest value
//! (the first for `q = 0`), so p99 of fewer than 100 values is their maximum. The estimate is within the relative accuracy of that value unless it lies
//! in a collapsed bucket (only the lowest values lose accuracy, and only once the cap is reached).

/// Default relative accuracy: estimates are within 1% of the true value.
pub const DEFAULT_RELATIVE_ACCURACY: f64 = 0.01;

/// Default cap on non-empty buckets: at 1% accuracy 1024 buckets span a ratio of ~6·10⁸
/// between the smallest and the largest value kept exactly (say 1 µs to 10 minutes).
pub const DEFAULT_MAX_BINS: usize = 1024;

/// Accepted relative accuracies; outside this range the constructor clamps.
const ACCURACY_RANGE: (f64, f64) = (1e-4, 0.5);

/// A mergeable quantile sketch of non-negative values (milliseconds, say).
#[derive(Debug, Clone)]
pub struct Sketch {
    /// Bucket `i` holds values in `(gamma^(i-1), gamma^i]`.
    gamma: f64,
    ln_gamma: f64,
    max_bins: usize,
    /// Non-empty buckets, sorted by index; never more than `max_bins`.
    bins: Vec<(i32, u64)>,
    /// Values too small to index (zero, negatives clamped to zero, subnormals).
    zero: u64,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch::new(DEFAULT_RELATIVE_ACCURACY, DEFAULT_MAX_BINS)
    }
}

impl Sketch {
    /// A sketch whose quantiles are within `relative_accuracy` (clamped to 0.0001..=0.5) of the
    /// truth, keeping at most `max_bins` (at least 1) buckets.
    pub fn new(relative_accuracy: f64, max_bins: usize) -> Self {
        let alpha = if relative_accuracy.is_nan() {
            DEFAULT_RELATIVE_ACCURACY
        } else {
            relative_accuracy.clamp(ACCURACY_RANGE.0, ACCURACY_RANGE.1)
        };
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        Sketch {
            gamma,
            ln_gamma: gamma.ln(),
            max_bins: max_bins.max(1),
            bins: Vec::new(),
            zero: 0,
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// The guaranteed relative accuracy of quantile estimates.
    pub fn relative_accuracy(&self) -> f64 {
        (self.gamma - 1.0) / (self.gamma + 1.0)
    }

    /// Adds one value. Negative values count as 0; NaN and infinities are ignored.
    pub fn add(&mut self, value: f64) {
        self.add_n(value, 1);
    }

    /// Adds `n` occurrences of one value (same rules as [`Sketch::add`]).
    pub fn add_n(&mut self, value: f64, n: u64) {
        if !value.is_finite() || n == 0 {
            return;
        }
        let value = value.max(0.0);
        if value < f64::MIN_POSITIVE {
            self.zero += n;
        } else {
            self.add_index(self.index(value), n);
        }
        self.count += n;
        self.sum += value * n as f64;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Number of values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sum of the values added (exact up to floating-point rounding).
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Smallest value added (exact).
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest value added (exact).
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Number of non-empty buckets: the sketch's memory is proportional to it.
    pub fn bin_count(&self) -> usize {
        self.bins.len()
    }

    /// Estimate of the `q`-quantile (`q` in 0..=1); `None` when empty or `q` is out of range.
    /// `quantile(0.0)` and `quantile(1.0)` are the exact minimum and maximum.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        // 0-based rank; float-to-int `as` saturates, and the product is within 0..=count.
        let rank = ((q * self.count as f64).ceil() as u64).saturating_sub(1).min(self.count - 1);
        let estimate = if rank == 0 {
            self.min
        } else if rank == self.count - 1 {
            self.max
        } else if rank < self.zero {
            0.0
        } else {
            let mut seen = self.zero;
            let mut found = self.max;
            for &(index, n) in &self.bins {
                seen += n;
                if seen > rank {
                    found = self.value(index);
                    break;
                }
            }
            found
        };
        // The true value lies within [min, max]: clamping can only bring the estimate closer.
        Some(estimate.max(self.min).min(self.max))
    }

    /// Adds everything `other` holds, as if its values had been added here. With the same
    /// accuracy the result is identical to adding them one by one; with a different accuracy
    /// each of `other`'s buckets is re-added at its representative value.
    pub fn merge(&mut self, other: &Sketch) {
        if other.count == 0 {
            return;
        }
        if self.gamma == other.gamma {
            self.merge_bins(&other.bins);
        } else {
            for &(index, n) in &other.bins {
                self.add_index(self.index(other.value(index)), n);
            }
        }
        self.zero += other.zero;
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Bucket index of a positive value: `ceil(log_gamma(value))`.
    fn index(&self, value: f64) -> i32 {
        // Saturating float-to-int cast; finite positive normals give |index| < 2^17 anyway.
        (value.ln() / self.ln_gamma).ceil() as i32
    }

    /// Representative value of a bucket: within the relative accuracy of everything in it.
    fn value(&self, index: i32) -> f64 {
        2.0 * (f64::from(index) * self.ln_gamma).exp() / (self.gamma + 1.0)
    }

    fn add_index(&mut self, index: i32, n: u64) {
        match self.bins.binary_search_by_key(&index, |&(i, _)| i) {
            Ok(pos) => self.bins[pos].1 += n,
            // Full and below the lowest bucket: it would be collapsed into the lowest at once.
            Err(0) if self.bins.len() >= self.max_bins => self.bins[0].1 += n,
            Err(pos) => {
                self.bins.insert(pos, (index, n));
                self.collapse();
            }
        }
    }

    fn merge_bins(&mut self, other: &[(i32, u64)]) {
        let mut merged = Vec::with_capacity(self.bins.len() + other.len());
        let (mut a, mut b) = (self.bins.iter().peekable(), other.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&(ia, na)), Some(&&(ib, nb))) if ia == ib => {
                    a.next();
                    b.next();
                    (ia, na + nb)
                }
                (Some(&&x), Some(&&y)) if x.0 < y.0 => {
                    a.next();
                    x
                }
                (_, Some(&&y)) => {
                    b.next();
                    y
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, None) => break,
            };
            merged.push(next);
        }
        self.bins = merged;
        self.collapse();
    }

    /// Enforces the cap: the lowest buckets fold into the lowest one kept.
    fn collapse(&mut self) {
        let len = self.bins.len();
        if len <= self.max_bins {
            return;
        }
        let excess = len - self.max_bins;
        let folded: u64 = self.bins[..=excess].iter().map(|&(_, n)| n).sum();
        self.bins.drain(..excess);
        self.bins[0].1 = folded;
    }
}

#[cfg(test)]
#[path = "sketch_tests.rs"]
mod tests;
