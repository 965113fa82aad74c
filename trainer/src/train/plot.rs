//! PNG plots of a run's curves (plotters): the training loss per step and
//! the held-out PA-V2V per epoch against the best constant (the training labels' mean).

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

use super::record::LogLine;

/// Fonts tried for the labels; plotters' ab_glyph backend needs one file.
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
];

fn register_font() -> anyhow::Result<()> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        FONTS.iter().any(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
            })
        })
    });
    anyhow::ensure!(
        ok,
        "no font for the plot labels (tried {FONTS:?}); install fonts-dejavu-core"
    );
    Ok(())
}

/// Reads `log.jsonl` and draws `out`.
pub fn curves(log: &Path, out: &Path) -> anyhow::Result<()> {
    register_font()?;
    let text = std::fs::read_to_string(log).with_context(|| format!("{}", log.display()))?;
    let mut loss = Vec::new();
    let mut val = Vec::new();
    let mut baseline = None;
    for line in LogLine::parse_all(&text) {
        match line {
            LogLine::Step(s) => loss.push((s.step as f64, s.loss as f64)),
            LogLine::Validation { validation: v } => {
                if let Some(held) = v.held_out {
                    val.push((v.epoch as f64, held.pa_v2v_mm));
                    baseline = v.baseline_pa_v2v_mm.or(baseline);
                }
            }
        }
    }
    anyhow::ensure!(!loss.is_empty(), "{}: no loss records yet", log.display());
    // Drawn in memory, written atomically: a failed write leaves no file.
    let (width, height) = (1000u32, 400u32);
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(500);
        let max_step = loss.iter().map(|p| p.0).fold(1.0, f64::max);
        let (lo, hi) = loss
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let mut chart = ChartBuilder::on(&left)
            .caption("training loss", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(
                0.0..max_step,
                (lo.max(1e-6)..hi.max(lo * 1.01 + 1e-6)).log_scale(),
            )?;
        chart.configure_mesh().x_desc("step").y_desc("L").draw()?;
        chart.draw_series(LineSeries::new(loss.iter().copied(), &BLUE))?;

        let max_epoch = val.iter().map(|p| p.0).fold(1.0, f64::max);
        let top = val.iter().map(|p| p.1).chain(baseline).fold(1.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(&right)
            .caption("held-out PA-V2V (mm)", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..max_epoch, 0.0..top)?;
        chart.configure_mesh().x_desc("epoch").draw()?;
        chart
            .draw_series(LineSeries::new(val.iter().copied(), &RED))?
            .label("student")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        if let Some(b) = baseline {
            chart
                .draw_series(LineSeries::new(vec![(0.0, b), (max_epoch, b)], &BLACK))?
                .label("best constant")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    let image = image::RgbImage::from_raw(width, height, pixels)
        .context("the curves' buffer has the wrong size")?;
    crate::crops::save_png(&image, out)
}
