-- Alliance ID issuer: portable SQL (SQLite and PostgreSQL). Integers are BIGINT, text is TEXT.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL
);
CREATE TABLE credential_types (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE offers (
    id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    tx_code_hash TEXT,
    credential_type TEXT NOT NULL,
    claims TEXT NOT NULL,
    -- the offer object for its by-reference link, kept only until the code is redeemed
    offer_json TEXT,
    state TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    offer_id TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used BIGINT NOT NULL
);
CREATE TABLE nonces (
    nonce TEXT PRIMARY KEY,
    expires_ms BIGINT NOT NULL
);
CREATE TABLE status_lists (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    size BIGINT NOT NULL,
    bits TEXT NOT NULL,
    credential TEXT,
    version BIGINT NOT NULL,
    anchor_sequence BIGINT NOT NULL,
    anchored_version BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE TABLE issued (
    id TEXT PRIMARY KEY,
    offer_id TEXT,
    credential_type TEXT NOT NULL,
    format TEXT NOT NULL,
    holder TEXT NOT NULL,
    status_index BIGINT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    issued_ms BIGINT NOT NULL
);
CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at_ms);
