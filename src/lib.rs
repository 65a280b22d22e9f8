pub use memorable_core::*;
