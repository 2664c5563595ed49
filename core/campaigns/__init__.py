"""Annotation campaigns: several people judge the same frozen proposals (model, proposing),
items handed out with overlap under concurrency (assignment), agreement on the shared edits
(agreement, units), the label that stands, adjudication and gold accuracy (labels), progress."""
