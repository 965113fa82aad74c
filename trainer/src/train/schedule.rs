//! Learning-rate schedules, one place for both training loops: the paper's
//! step drop (the student) and a cosine decay to a floor (the small experts).

/// The learning rate as a function of the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrSchedule {
    /// `lr`, multiplied by `factor` from `drop_epoch` on (FuRPE §4: 1e-5,
    /// divided by 10 at epoch 20).
    StepDrop {
        lr: f64,
        drop_epoch: usize,
        factor: f64,
    },
    /// Half a cosine from `lr` at epoch 0 towards `floor · lr` at `epochs`:
    /// settles small networks without tuning.
    Cosine { lr: f64, floor: f64, epochs: usize },
}

impl LrSchedule {
    pub fn at(&self, epoch: usize) -> f64 {
        match *self {
            LrSchedule::StepDrop {
                lr,
                drop_epoch,
                factor,
            } => {
                if epoch >= drop_epoch {
                    lr * factor
                } else {
                    lr
                }
            }
            LrSchedule::Cosine { lr, floor, epochs } => {
                let progress = epoch as f64 / epochs.max(1) as f64;
                let half_cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
                lr * (floor + (1.0 - floor) * half_cosine)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_drop_falls_at_its_epoch() {
        let s = LrSchedule::StepDrop {
            lr: 1e-3,
            drop_epoch: 2,
            factor: 0.1,
        };
        assert_eq!(
            [s.at(0), s.at(1), s.at(2), s.at(9)],
            [1e-3, 1e-3, 1e-4, 1e-4]
        );
    }

    #[test]
    fn the_cosine_starts_at_lr_and_ends_at_its_floor() {
        let s = LrSchedule::Cosine {
            lr: 2.0,
            floor: 0.1,
            epochs: 10,
        };
        assert_eq!(s.at(0), 2.0);
        assert!((s.at(5) - 1.1).abs() < 1e-12, "{}", s.at(5));
        assert!((s.at(10) - 0.2).abs() < 1e-12);
        assert!((1..10).all(|e| s.at(e) < s.at(e - 1)));
    }
}
