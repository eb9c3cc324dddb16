//! Biological constraints on the recurrent weights `W[post, pre]`: Dale's law (sign per
//! presynaptic column), block connectivity masks from probability tables, top-prob pruning and
//! initialisation. Everything here is drawn on the CPU from a seeded generator, so a run starts from
//! the same tensors on every device.

pub mod architectures;
pub mod dale;
pub mod init;
pub mod mask;
pub mod prune;

pub use dale::{project_dale, project_dale_tensor, sign_violations};
pub use mask::Blocks;
