-- A syncd state database at schema version 3, with one row in every table (sqlite3 .dump).
-- FROZEN: this is what v3 files in the field look like. Never edit it; add v4.sql beside it instead.
BEGIN TRANSACTION;
CREATE TABLE audit_entry (
    id INTEGER NOT NULL,
    cycle_id INTEGER,
    at TEXT NOT NULL,
    pair VARCHAR NOT NULL,
    operation VARCHAR NOT NULL,
    side VARCHAR,
    "key" VARCHAR,
    other_key VARCHAR,
    fields TEXT NOT NULL,
    rule VARCHAR,
    detail VARCHAR,
    PRIMARY KEY (id),
    FOREIGN KEY (cycle_id) REFERENCES cycle (id)
);
INSERT INTO "audit_entry" VALUES(1,1,'2026-03-29T00:30:00.000000+00:00','tasks','update','planningpme','17','123','{"title":["Ремонт","Ремонт котла"]}','planfix changed',NULL);
CREATE TABLE "conflict" (
    id INTEGER NOT NULL,
    pair VARCHAR NOT NULL,
    planfix_key VARCHAR NOT NULL,
    planningpme_key VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    planfix_value TEXT NOT NULL,
    planningpme_value TEXT NOT NULL,
    base_value TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    resolved_at TEXT,
    resolution VARCHAR,
    PRIMARY KEY (id)
);
INSERT INTO "conflict" VALUES(1,'tasks','123','17','title','"A"','"B"','"base"','2026-03-29T00:30:00.000000+00:00',NULL,NULL);
CREATE TABLE cursor (
    pair VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (pair, side, kind)
);
INSERT INTO "cursor" VALUES('tasks','planfix','incremental','2026-03-29T00:25:00.000000+00:00','2026-03-29T00:30:00.000000+00:00');
CREATE TABLE cycle (
    id INTEGER NOT NULL,
    pair VARCHAR NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    dry_run BOOLEAN NOT NULL,
    outcome VARCHAR,
    summary TEXT NOT NULL,
    PRIMARY KEY (id)
);
INSERT INTO "cycle" VALUES(1,'tasks','2026-03-29T00:30:00.000000+00:00','2026-03-29T00:30:00.000000+00:00',0,'ok','{"writes":1}');
CREATE TABLE failure (
    pair VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    "key" VARCHAR NOT NULL,
    operation VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    next_retry_at TEXT,
    last_error VARCHAR NOT NULL,
    parked BOOLEAN NOT NULL,
    first_failed_at TEXT NOT NULL,
    last_failed_at TEXT NOT NULL,
    PRIMARY KEY (pair, side, "key")
);
INSERT INTO "failure" VALUES('tasks','planfix','125','update',1,'2026-03-29T00:31:00.000000+00:00','planfix: invalid value (code 0007)',0,'2026-03-29T00:30:00.000000+00:00','2026-03-29T00:30:00.000000+00:00');
CREATE TABLE intent (
    id INTEGER NOT NULL,
    pair VARCHAR NOT NULL,
    target_side VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    marker VARCHAR NOT NULL,
    payload TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    created_key VARCHAR,
    outcome VARCHAR,
    PRIMARY KEY (id)
);
INSERT INTO "intent" VALUES(1,'tasks','planningpme','124','124','{"label":"Visit"}','2026-03-29T00:30:00.000000+00:00',NULL,NULL,NULL);
CREATE TABLE link (
    id INTEGER NOT NULL,
    pair VARCHAR NOT NULL,
    planfix_key VARCHAR NOT NULL,
    planningpme_key VARCHAR NOT NULL,
    canonical TEXT NOT NULL,
    planfix_hash VARCHAR NOT NULL,
    planningpme_hash VARCHAR NOT NULL,
    created_at TEXT NOT NULL,
    synced_at TEXT NOT NULL, echo TEXT NOT NULL DEFAULT '{}', planfix_raw VARCHAR, planningpme_raw VARCHAR,
    PRIMARY KEY (id),
    CONSTRAINT uq_link_planfix UNIQUE (pair, planfix_key),
    CONSTRAINT uq_link_planningpme UNIQUE (pair, planningpme_key)
);
INSERT INTO "link" VALUES(1,'tasks','123','17','{"start":"2026-03-29T09:00:00+02:00","title":"Ремонт котла","workers":["1","3"]}','pf-hash-1','pme-hash-1','2026-03-29T00:30:00.000000+00:00','2026-03-29T00:30:00.000000+00:00','{"awaiting":{"planningpme":["title"]}}','pf-hash-1:0123456789abcdef',NULL);
INSERT INTO "link" VALUES(2,'contacts','12','5','{"email":"ana@example.com","firstName":"Ana"}','pf-hash-2','pme-hash-2','2026-03-29T00:30:00.000000+00:00','2026-03-29T00:30:00.000000+00:00','{}',NULL,NULL);
CREATE TABLE push_list (
    list_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT,
    dedupe_key VARCHAR,
    PRIMARY KEY (list_id)
);
INSERT INTO "push_list" VALUES('6c1ff3857781418fa8af86c7bd01e668','Customers to plan','2026-03-29T00:30:00.000000+00:00',NULL,'req-1');
CREATE TABLE push_membership (
    list_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    email VARCHAR NOT NULL,
    first_name VARCHAR NOT NULL,
    last_name VARCHAR NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (list_id, contact_id),
    FOREIGN KEY (list_id) REFERENCES push_list (list_id) ON DELETE CASCADE
);
INSERT INTO "push_membership" VALUES('6c1ff3857781418fa8af86c7bd01e668','12','ana@example.com','Ana','López','2026-03-29T00:30:00.000000+00:00');
CREATE TABLE pushed_change (
    id INTEGER NOT NULL,
    contact_id VARCHAR NOT NULL,
    list_id VARCHAR,
    action VARCHAR NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    dedupe_key VARCHAR NOT NULL,
    processed_at TEXT,
    PRIMARY KEY (id),
    UNIQUE (dedupe_key)
);
INSERT INTO "pushed_change" VALUES(1,'12','6c1ff3857781418fa8af86c7bd01e668','add','{"email":"ana@example.com","id":12}','2026-03-29T00:30:00.000000+00:00','push-1',NULL);
CREATE TABLE schema_version (
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'2026-11-23T14:19:05.058933+00:00');
INSERT INTO "schema_version" VALUES(2,'2026-12-02T04:40:00.000000+00:00');
INSERT INTO "schema_version" VALUES(3,'2026-12-02T05:30:00.000000+00:00');
CREATE TABLE tombstone (
    pair VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    "key" VARCHAR NOT NULL,
    deleted_at TEXT NOT NULL,
    reason VARCHAR NOT NULL,
    PRIMARY KEY (pair, side, "key")
);
INSERT INTO "tombstone" VALUES('tasks','planningpme','16','2026-03-29T00:30:00.000000+00:00','deleted in planningpme');
CREATE INDEX ix_intent_open ON intent (pair, closed_at);
CREATE INDEX ix_failure_due ON failure (parked, next_retry_at);
CREATE INDEX ix_audit_entry_cycle_id ON audit_entry (cycle_id);
CREATE INDEX ix_audit_entry_pair ON audit_entry (pair, id);
CREATE UNIQUE INDEX uq_conflict_pending ON "conflict" (pair, planfix_key, planningpme_key, field) WHERE resolved_at IS NULL;
CREATE INDEX ix_push_list_dedupe_key ON push_list (dedupe_key);
CREATE INDEX ix_push_membership_contact_id ON push_membership (contact_id);
CREATE INDEX ix_pushed_change_pending ON pushed_change (processed_at, id);
COMMIT;
