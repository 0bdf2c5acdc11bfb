-- France Travail partner API as it really is (rechercher-usager v2, orientationusager v1), and the
-- Département's orientations sent back to France Travail.

-- Every HTTP response is still landed in raw.france_travail_api_call. What an exchange is for:
--   lookup  search the person, then read France Travail's orientation (lectureOrientation);
--   send    search the person, then send the Département's orientation (POST orientation).
ALTER TABLE raw.france_travail_api_call
    ADD COLUMN purpose text NOT NULL DEFAULT 'lookup' CHECK (purpose IN ('lookup', 'send'));

-- Which call each row answers. 'registration' and 'orientation' were written by earlier versions,
-- which followed an interface of the project's own making (no such endpoints at France Travail):
-- kept valid so that those rows stay as they were landed.
ALTER TABLE raw.france_travail_api_call
    ADD CONSTRAINT france_travail_api_call_endpoint_check CHECK (endpoint IN (
        'token', 'search', 'read_orientation', 'send_orientation', 'registration', 'orientation'));

-- NO_ORIENTATION: France Travail holds no orientation for the person (HTTP 204 on lectureOrientation).
-- SENT / REFUSED: France Travail accepted (2xx) or refused (4xx with its message) an orientation sent.
ALTER TABLE raw.france_travail_api_call DROP CONSTRAINT france_travail_api_call_outcome_check;
ALTER TABLE raw.france_travail_api_call
    ADD CONSTRAINT france_travail_api_call_outcome_check CHECK (outcome IN (
        'FOUND', 'NO_CANDIDATE', 'SEVERAL_CANDIDATES', 'ACCESS_REFUSED', 'UNKNOWN_ADDRESS', 'NO_ORIENTATION',
        'SENT', 'REFUSED', 'ERROR'));

-- The day's quota counts the exchanges already landed for the logical date, per purpose; the
-- person's history is matched on the NIR's first 13 characters (what partners compare).
CREATE INDEX france_travail_api_call_day ON raw.france_travail_api_call (logical_date, purpose);
CREATE INDEX france_travail_api_call_nir13
    ON raw.france_travail_api_call (left(nir, 13), dtnai, requested_at DESC);

COMMENT ON TABLE raw.france_travail_api_call IS
    'One row per HTTP response of the France Travail partner API, body as received (person tokens '
    'blanked). An exchange is the rows sharing lookup_id: purpose lookup (search, then read_orientation) '
    'or send (search, then send_orientation).';
COMMENT ON COLUMN raw.france_travail_api_call.lookup_id IS
    'Identifier of one exchange about one person (a lookup or a send).';
COMMENT ON COLUMN raw.france_travail_api_call.purpose IS
    'lookup: France Travail''s orientation read; send: the Département''s orientation sent.';
COMMENT ON COLUMN raw.france_travail_api_call.nir IS 'The 15-character NIR sent to the search (in the POST body).';

-- One row per orientation of the Département told (or being told) to France Travail. An orientation
-- is the referral and what makes it: its parcours, its destination and its date. The primary key
-- makes a second send of the same orientation impossible, whatever the number of runs; a new
-- parcours or destination for the same referral is a new orientation and is sent again.
-- Codes, dates and counts only: the person is found again through the referral (marts.referrals),
-- the NIR sent stays in raw.france_travail_api_call.
CREATE TABLE registry.france_travail_orientation_sent (
    id_orientation   text        NOT NULL,
    parcours         text        NOT NULL CHECK (parcours IN ('PED', 'PSP', 'PSO')),
    code_structure   text        NOT NULL,
    date_orientation date        NOT NULL,
    origine          text        NOT NULL,
    organisme        text        NOT NULL,
    outcome          text        NOT NULL CHECK (outcome IN (
        'SENDING', 'SENT', 'REFUSED', 'NO_CANDIDATE', 'SEVERAL_CANDIDATES', 'ACCESS_REFUSED', 'UNKNOWN_ADDRESS',
        'ERROR')),
    attempts         integer     NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    first_tried_on   date        NOT NULL,
    last_tried_on    date        NOT NULL,
    last_tried_at    timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz,
    sent_on          date,
    http_status      integer,
    business_code    text,
    lookup_id        text        NOT NULL,
    run_id           text        NOT NULL,
    PRIMARY KEY (id_orientation, parcours, code_structure, date_orientation),
    CHECK ((outcome = 'SENT') = (sent_at IS NOT NULL AND sent_on IS NOT NULL))
);
CREATE INDEX france_travail_orientation_sent_last_tried ON registry.france_travail_orientation_sent (last_tried_on);
REVOKE ALL ON registry.france_travail_orientation_sent FROM PUBLIC;

COMMENT ON TABLE registry.france_travail_orientation_sent IS
    'One row per orientation of the Département sent to France Travail (POST orientationusager v1 '
    'orientation), with its fate. The key (id_orientation, parcours, code_structure, date_orientation) '
    'is sent at most once: SENT and REFUSED are final, SENDING is never sent again without an operator.';
COMMENT ON COLUMN registry.france_travail_orientation_sent.origine IS
    'origine sent: France Travail''s own origine for the person when read, else INSCRIPTION_AUTO_CAF.';
COMMENT ON COLUMN registry.france_travail_orientation_sent.organisme IS 'organisme sent: CD (the Département decided).';
COMMENT ON COLUMN registry.france_travail_orientation_sent.outcome IS
    'SENDING: the POST left (or was about to) and no answer was recorded: France Travail may have it, '
    'so it is never sent again automatically (see docs/runbook.md). SENT: accepted (2xx). REFUSED: '
    'France Travail refused it (4xx, its message landed in raw). NO_CANDIDATE, SEVERAL_CANDIDATES, '
    'ACCESS_REFUSED, UNKNOWN_ADDRESS: the person''s search ended so, the orientation was not sent; tried '
    'again once the France Travail refresh age has passed. ERROR: nothing reached France Travail''s '
    'orientation endpoint; tried again on the next day.';
COMMENT ON COLUMN registry.france_travail_orientation_sent.first_tried_on IS 'Logical day of the first try.';
COMMENT ON COLUMN registry.france_travail_orientation_sent.last_tried_on IS
    'Logical day of the latest try: a rerun of that day does not try again.';
COMMENT ON COLUMN registry.france_travail_orientation_sent.sent_at IS 'When France Travail accepted it (SENT only).';
COMMENT ON COLUMN registry.france_travail_orientation_sent.sent_on IS 'Logical day of the run that sent it (SENT only).';
COMMENT ON COLUMN registry.france_travail_orientation_sent.lookup_id IS
    'The latest exchange about it in raw.france_travail_api_call (purpose send).';
