-- A camera's clock correction, set once for the photos of an import (seconds to add to the
-- capture time the camera wrote; within two days either way). The capture time itself stays as
-- the camera wrote it: evidence is never rewritten. Replicated with the photo's row.
ALTER TABLE photos ADD COLUMN clock_offset_s INTEGER NOT NULL DEFAULT 0
    CHECK (clock_offset_s BETWEEN -172800 AND 172800);
