"""R3 / IteraTeR interaction logs in and out.

Reads (a file or a folder of them):
- whole-session files, as in the R3 system evaluation (`rev_depth_0` … `rev_depth_k`, each a JSON
  object or a string holding a Python literal of one, whose `doc` has `before_revision`,
  `after_revision`, `edit_actions` with `accept_or_reject`, and `after_human_evaluation`);
- per-round files or JSON Lines: one such `doc` per record (optionally wrapped as {"doc": ...}), its
  depth from `revision_depth`/`depth`/`rev_depth`, else from the order its texts chain in.

Each (annotator, document) becomes one finished thread: one applied round per depth, its edits
exactly as logged (character offsets, one edit per action), and the annotator's Accept/Reject as
decisions. The annotator comes from the file name ("ann1-MODEL-…json" → "ann1"), else from an
"annN" folder. What Redraft has no column for (the UI's chunks, the model's full output, the file's
own fields) is kept in each round's `request["r3"]`, so exporting an imported thread gives the log
back; any thread, imported or not, exports to the same format.
"""

from __future__ import annotations

from core.data.r3_export import export_filename, export_thread, export_threads
from core.data.r3_format import RoundLog, SessionLog, parse_session, read_paths
from core.data.r3_import import IMPORTED_KIND, ImportCounts, import_r3_paths, import_session, imported_spec

# The pieces: r3_format (reading, shared rules), r3_import, r3_export. The CLI, services and pages
# import from here.
__all__ = [
    "IMPORTED_KIND",
    "ImportCounts",
    "RoundLog",
    "SessionLog",
    "export_filename",
    "export_thread",
    "export_threads",
    "import_r3_paths",
    "import_session",
    "imported_spec",
    "parse_session",
    "read_paths",
]
