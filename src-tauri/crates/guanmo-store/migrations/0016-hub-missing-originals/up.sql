-- Publishing from a bus (issue 17): a post goes to the hub with its photos' 1600 px copies and
-- the originals follow later, over the network as the organiser allows or in a USB bundle. A
-- bundle carries the originals of its operations' photos, but a post the hub already confirmed
-- over 4G has none left to carry: this laptop remembers which of its own originals the hub
-- lacked at the last exchange, and every bundle carries those too.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TABLE hub_missing_originals (
    hash  TEXT PRIMARY KEY CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*')
) STRICT, WITHOUT ROWID;
