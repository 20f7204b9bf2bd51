//! One experiment per lesson, registered by the lesson's id.
