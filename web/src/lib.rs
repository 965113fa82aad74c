//! Browser adapter.
