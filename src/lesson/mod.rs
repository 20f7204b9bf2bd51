//! A lesson's markdown: front matter and claim blocks, each with its file:line.
