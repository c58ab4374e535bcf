//! pax8-ext
