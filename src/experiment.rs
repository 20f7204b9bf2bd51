//! The shape every lesson's experiment shares: named steps, each producing an observation.
