//! The real scalar types the matrix routines accept: `f64` (the main API) and `f32` (the
//! single-precision path the benchmarks compare against).

/// A real floating-point scalar faer can factorise (`f32` or `f64`).
///
/// Routines generic over `Real` compute in that precision; results that callers combine
/// with other statistics are returned as `f64`.
pub trait Real: faer::traits::RealField + Copy + Into<f64> + Send + Sync + 'static {
    /// The nearest value of this type to `v`.
    fn from_f64(v: f64) -> Self;
    /// `|self|`.
    fn magnitude(self) -> Self;
    /// `√self`.
    fn square_root(self) -> Self;
    /// Whether the value is neither NaN nor infinite.
    fn finite(self) -> bool;
}

impl Real for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
    fn magnitude(self) -> Self {
        self.abs()
    }
    fn square_root(self) -> Self {
        self.sqrt()
    }
    fn finite(self) -> bool {
        self.is_finite()
    }
}

impl Real for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn magnitude(self) -> Self {
        self.abs()
    }
    fn square_root(self) -> Self {
        self.sqrt()
    }
    fn finite(self) -> bool {
        self.is_finite()
    }
}
