//! `halab image build|disk|ls|rm`.

use anyhow::Result;

use super::args::ImageCmd;
use crate::image;

fn load(recipe: Option<String>) -> Result<(image::Image, bool)> {
    let name = recipe.unwrap_or_else(|| "debian-trixie-ha".into());
    let path = image::recipe::find(&name, None).ok_or_else(|| anyhow::anyhow!("no image recipe `{name}` (looked in images/)"))?;
    let r = image::Recipe::load(&path)?;
    image::ensure(&path, &r)
}

pub fn run(cmd: ImageCmd) -> Result<()> {
    match cmd {
        ImageCmd::Build { recipe, packages } => {
            let t = std::time::Instant::now();
            let (mut img, mut hit) = load(recipe)?;
            if !packages.is_empty() {
                let at = crate::diag::Span::whole_file(std::path::Path::new("--packages"));
                let list: Vec<_> = packages.into_iter().map(|name| crate::topology::PlanPackage { name, at: at.clone() }).collect();
                (img, hit) = image::layer::ensure(&img, &list)?;
            }
            let dir = img.roots().first().cloned().unwrap_or_default();
            println!("{} {} {} ({:.3} s)", if hit { "cached" } else { "built" }, img.manifest.hash, dir.display(), t.elapsed().as_secs_f64());
        }
        ImageCmd::Disk { recipe } => {
            let (img, _) = load(recipe)?;
            let t = std::time::Instant::now();
            let (disk, built) = image::disk::ensure_disk(&img)?;
            let (kernel, initrd) = image::disk::kernel_and_initrd(&img)?;
            println!(
                "{} {} ({} MB, {:.2} s); kernel {} initrd {}",
                if built { "built" } else { "cached" },
                disk.display(),
                std::fs::metadata(&disk)?.len() / 1_000_000,
                t.elapsed().as_secs_f64(),
                kernel.display(),
                initrd.display()
            );
        }
        ImageCmd::Ls => {
            for img in image::list() {
                let m = &img.manifest;
                let over = m.base.as_ref().map(|b| format!("  (layer over {b})")).unwrap_or_default();
                println!("{}  {:<24} {:>6} MB  built in {:.0} s{over}", m.hash, m.recipe_name, m.size_bytes / 1_000_000, m.build_seconds);
            }
        }
        ImageCmd::Rm { image } => println!("removed {}", image::build::remove(&image)?),
    }
    Ok(())
}
