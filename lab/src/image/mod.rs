//! Images: recipes in images/, built into a cached Debian rootfs; packages layers over it.

pub mod build;
pub mod disk;
pub mod layer;
pub mod recipe;

pub use build::{cached, ensure, list, Image};
pub use recipe::Recipe;
