//! Images: recipes in images/, built into a cached Debian rootfs.

pub mod build;
pub mod disk;
pub mod recipe;

pub use build::{cached, ensure, list, Image};
pub use recipe::Recipe;
