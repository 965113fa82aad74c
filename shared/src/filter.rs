//! Temporal smoothing of per-frame predictions: the One-Euro filter (Casiez,
//! Roussel and Vogel, CHI 2012). A low-pass filter whose cut-off rises with
//! the signal's speed: still poses lose their jitter, fast motion keeps
//! little lag. The live page smooths the drawn mesh and camera with it; a
//! native video tool can reuse it unchanged.

/// Filter settings, shared by every channel of a [`OneEuro`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneEuroConfig {
    /// Cut-off (Hz) at rest: lower removes more jitter, adds more lag.
    pub min_cutoff: f32,
    /// How fast the cut-off grows with speed (per unit of the signal per second).
    pub beta: f32,
    /// Cut-off (Hz) of the speed estimate itself.
    pub derivative_cutoff: f32,
}

impl Default for OneEuroConfig {
    /// Settings that suit body vertices in metres at webcam frame rates.
    fn default() -> Self {
        Self {
            min_cutoff: 1.0,
            beta: 0.5,
            derivative_cutoff: 1.0,
        }
    }
}

/// A One-Euro filter over a vector of independent channels (all vertex
/// coordinates of a mesh, say). The first sample passes through unchanged.
#[derive(Debug, Clone)]
pub struct OneEuro {
    pub config: OneEuroConfig,
    value: Vec<f32>,
    speed: Vec<f32>,
    last_time: Option<f64>,
}

/// Smoothing factor of an exponential filter with cut-off `cutoff` Hz
/// sampled every `dt` seconds.
fn alpha(cutoff: f32, dt: f32) -> f32 {
    let tau = 1.0 / (2.0 * std::f32::consts::PI * cutoff);
    1.0 / (1.0 + tau / dt)
}

impl OneEuro {
    pub fn new(config: OneEuroConfig) -> Self {
        Self {
            config,
            value: Vec::new(),
            speed: Vec::new(),
            last_time: None,
        }
    }

    /// Forgets the history; the next sample passes through.
    pub fn reset(&mut self) {
        self.value.clear();
        self.speed.clear();
        self.last_time = None;
    }

    /// Filters `x` in place, sampled at `time` seconds. A change of length,
    /// a non-increasing time or a non-finite sample restarts the filter
    /// (a new body model, a paused video, a bad frame must not smear into
    /// the next ones).
    pub fn filter(&mut self, time: f64, x: &mut [f32]) {
        let dt = self.last_time.map(|t| (time - t) as f32);
        let restart = match dt {
            None => true,
            Some(dt) => dt.is_nan() || dt <= 0.0 || self.value.len() != x.len(),
        } || x.iter().any(|v| !v.is_finite());
        self.last_time = Some(time);
        if restart {
            self.value = x.to_vec();
            self.speed = vec![0.0; x.len()];
            return;
        }
        let dt = dt.unwrap_or(1.0);
        let c = self.config;
        let a_d = alpha(c.derivative_cutoff, dt);
        for ((v, s), x) in self.value.iter_mut().zip(&mut self.speed).zip(x.iter_mut()) {
            let raw_speed = (*x - *v) / dt;
            *s += a_d * (raw_speed - *s);
            let a = alpha(c.min_cutoff + c.beta * s.abs(), dt);
            *v += a * (*x - *v);
            *x = *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooths_jitter_and_follows_motion() {
        let mut f = OneEuro::new(OneEuroConfig::default());
        // A still signal with ±1 cm jitter at 30 fps: the output varies far less.
        let mut out = Vec::new();
        for i in 0..60 {
            let mut x = [if i % 2 == 0 { 0.01 } else { -0.01 }];
            f.filter(i as f64 / 30.0, &mut x);
            out.push(x[0]);
        }
        let late = &out[30..];
        let spread = late.iter().cloned().fold(f32::MIN, f32::max)
            - late.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread < 0.01, "spread {spread}");
        // A steady fast ramp: the lag stays a small part of the motion.
        f.reset();
        let mut last = 0.0;
        for i in 0..60 {
            let t = i as f64 / 30.0;
            let mut x = [2.0 * t as f32];
            f.filter(t, &mut x);
            last = 2.0 * t as f32 - x[0];
        }
        assert!(last.abs() < 0.15, "lag {last}");
        // First sample, new length, NaN: pass through.
        let mut x = [5.0, 6.0];
        f.filter(10.0, &mut x);
        assert_eq!(x, [5.0, 6.0]);
        let mut x = [f32::NAN, 1.0];
        f.filter(10.1, &mut x);
        assert!(x[0].is_nan() && x[1] == 1.0);
    }
}
