-- The seed's SQLite schema, verbatim (shared/seed/database-schema.md). Do not edit:
-- later changes go in new migrations under store/migrations/versions/.
-- Local server configurations and state
CREATE TABLE local_servers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    game_type TEXT NOT NULL,
    status TEXT NOT NULL,
    configuration TEXT, -- JSON serialized configuration
    process_id INTEGER,
    port INTEGER,
    install_path TEXT,
    last_backup TEXT, -- ISO datetime string
    created_at TEXT DEFAULT (datetime('now')),
    cloud_sync_status TEXT DEFAULT 'pending'
);

-- Local plugin installations and configurations
CREATE TABLE local_plugins (
    id TEXT PRIMARY KEY,
    server_id TEXT REFERENCES local_servers(id),
    plugin_id TEXT, -- Cloud plugin ID
    name TEXT NOT NULL,
    version TEXT,
    install_path TEXT,
    configuration TEXT, -- JSON serialized configuration
    is_enabled BOOLEAN DEFAULT 1,
    installed_at TEXT DEFAULT (datetime('now'))
);

-- Performance metrics cache
CREATE TABLE performance_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id TEXT REFERENCES local_servers(id),
    cpu_usage REAL,
    memory_usage REAL,
    network_latency REAL,
    player_count INTEGER,
    recorded_at TEXT DEFAULT (datetime('now'))
);

-- Sync operations queue for offline support
CREATE TABLE pending_sync_operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_type TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    data_payload TEXT, -- JSON serialized data
    retry_count INTEGER DEFAULT 0,
    created_at TEXT DEFAULT (datetime('now'))
);

-- Local user preferences and settings
CREATE TABLE user_settings (
    key TEXT PRIMARY KEY,
    value TEXT,
    updated_at TEXT DEFAULT (datetime('now'))
);

-- Game file management
CREATE TABLE game_installations (
    game_type TEXT PRIMARY KEY,
    install_path TEXT NOT NULL,
    version TEXT,
    last_updated TEXT,
    steam_app_id INTEGER,
    is_valid BOOLEAN DEFAULT 1
);

-- Indexes for local performance
CREATE INDEX idx_local_servers_status ON local_servers(status);
CREATE INDEX idx_local_plugins_server ON local_plugins(server_id);
CREATE INDEX idx_performance_history_server ON performance_history(server_id);
CREATE INDEX idx_performance_history_time ON performance_history(recorded_at);
