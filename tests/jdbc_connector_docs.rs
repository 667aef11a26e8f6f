//! The shipped JDBC source connectors (`io.confluent.connect.jdbc.JdbcSourceConnector`) use only
//! config keys that connector version documents, with values of the documented type and the
//! cross-key rules the connector enforces. The Confluent JDBC connector is not on Maven Central,
//! so a live `PUT /connector-plugins/.../config/validate` cannot run in CI; Kafka Connect itself
//! silently ignores a misspelt key, so this table is the check.
//!
//! Sources (the image pins connector 10.9.2: images/versions.env `CONFLUENT_JDBC_VERSION`):
//! - JDBC keys, types, defaults and validators: github.com/confluentinc/kafka-connect-jdbc, tag
//!   `v10.9.2` (commit c15df37ae1934c18e670c3aaf6c75932a5b83a1f),
//!   `src/main/java/io/confluent/connect/jdbc/source/JdbcSourceConnectorConfig.java`
//!   (`baseConfigDef()`; its `main()` prints that ConfigDef as reStructuredText). The reference
//!   for the 10.x line is the docs page "Configuration Reference for JDBC Source Connector for
//!   Confluent Platform",
//!   https://docs.confluent.io/kafka-connectors/jdbc/current/source-connector/source_config_options.html
//! - Cross-key rules, same tag: `src/main/java/io/confluent/connect/jdbc/validation/
//!   JdbcSourceConnectorValidation.java` (what `JdbcSourceConnector.validate()` runs);
//!   `JdbcSourceConnectorConfig.ModeDependentsRecommender` (an empty `mode` fails with "Query
//!   mode must be specified"); `source/TimestampIncrementingTableQuerier.java`
//!   (`findDefaultAutoIncrementingColumn`: an empty `incrementing.column.name` is autodetected
//!   from a table, so with `query` it must be set); `dialect/GenericDatabaseDialect.java`
//!   (`originalsWithPrefix("connection.")` goes to the JDBC driver; `jdbc.credentials.provider.*`
//!   to the credentials provider).
//! - Keys every source connector accepts: Apache Kafka connect-runtime, `ConnectorConfig`,
//!   `SourceConnectorConfig`, `TopicCreationConfig` (org.apache.kafka.connect.runtime). Listed
//!   from `SourceConnectorConfig.configDef()` of connect-runtime 4.4.0 (Maven Central), the
//!   nearest copy at hand; the Connect image runs Kafka 4.3.1.

use std::collections::BTreeMap;
use std::path::Path;

use alpaka::engine::Value;

const JDBC_SOURCE: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";

/// `ConfigDef.Type` of a key.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ty {
    Str,
    Int,
    Short,
    Long,
    Bool,
    List,
    Password,
    Class,
}

/// What the key's validator (or the code reading it) accepts beyond its type.
#[derive(Clone, Copy, Debug)]
enum Valid {
    Any,
    /// `ConfigDef.ValidString.in(...)` and `Enum.valueOf`: exact, case-sensitive.
    Exact(&'static [&'static str]),
    /// The connector's `EnumRecommender`: the lower-case or the upper-case spelling.
    UpperOrLower(&'static [&'static str]),
    /// `QuoteMethod.get`, `CaseInsensitiveValidString`: any case.
    AnyCase(&'static [&'static str]),
    /// `ConfigDef.Range.atLeast(n)`.
    AtLeast(i64),
    /// `NonEmptyStringWithoutControlChars`.
    Name,
    /// The `topic.prefix` validator: ASCII alphanumerics, `.`, `_`, `-`; at most 249 chars.
    TopicPrefix,
}

struct Doc {
    key: &'static str,
    ty: Ty,
    /// Must be present and non-empty (no default, or a default the connector rejects).
    required: bool,
    valid: Valid,
}

const fn opt(key: &'static str, ty: Ty) -> Doc {
    Doc {
        key,
        ty,
        required: false,
        valid: Valid::Any,
    }
}

const fn one_of(key: &'static str, valid: Valid) -> Doc {
    Doc {
        key,
        ty: Ty::Str,
        required: false,
        valid,
    }
}

const MODES: &[&str] = &[
    "bulk",
    "timestamp",
    "incrementing",
    "timestamp+incrementing",
];

/// kafka-connect-jdbc v10.9.2 `JdbcSourceConnectorConfig.baseConfigDef()`, in definition order.
const JDBC_SOURCE_KEYS: &[Doc] = &[
    // -- Database group (addConnectionOptions, addTableFilteringOptions, addSchemaAndDialectOptions)
    // Default "", but `start()` opens a connection from it: required in practice.
    Doc {
        required: true,
        ..opt("connection.url", Ty::Str)
    },
    opt("connection.user", Ty::Str),
    opt("connection.password", Ty::Password),
    opt("jdbc.credentials.provider.class", Ty::Class),
    Doc {
        valid: Valid::AtLeast(1),
        ..opt("connection.attempts", Ty::Int)
    },
    opt("connection.backoff.ms", Ty::Long),
    opt("table.whitelist", Ty::List),
    opt("table.blacklist", Ty::List),
    opt("table.include.list", Ty::List),
    opt("table.exclude.list", Ty::List),
    opt("catalog.pattern", Ty::Str),
    opt("schema.pattern", Ty::Str),
    opt("numeric.precision.mapping", Ty::Bool),
    one_of(
        "numeric.mapping",
        Valid::UpperOrLower(&[
            "none",
            "precision_only",
            "best_fit",
            "best_fit_eager_double",
        ]),
    ),
    // DatabaseDialectRecommender: "" or a registered dialect's class simple name
    // (META-INF/services/io.confluent.connect.jdbc.dialect.DatabaseDialectProvider).
    one_of(
        "dialect.name",
        Valid::Exact(&[
            "",
            "GenericDatabaseDialect",
            "Db2DatabaseDialect",
            "DerbyDatabaseDialect",
            "OracleDatabaseDialect",
            "SqliteDatabaseDialect",
            "PostgreSqlDatabaseDialect",
            "MySqlDatabaseDialect",
            "SqlServerDatabaseDialect",
            "SapHanaDatabaseDialect",
            "SybaseDatabaseDialect",
            "VerticaDatabaseDialect",
        ]),
    ),
    one_of(
        "date.calendar.system",
        Valid::Exact(&["LEGACY", "PROLEPTIC_GREGORIAN"]),
    ),
    // -- Mode group (defineModeConfig, defineIncrementTimestampConfigs, defineQueryAndQuoteConfigs,
    //    defineTransactionAndRetryConfigs)
    // ValidString.in("", bulk, ...), but "" fails with "Query mode must be specified".
    Doc {
        required: true,
        ..one_of("mode", Valid::Exact(MODES))
    },
    opt("incrementing.column.name", Ty::Str),
    opt("timestamp.column.name", Ty::List),
    opt("timestamp.columns.mapping", Ty::List),
    opt("incrementing.column.mapping", Ty::List),
    opt("timestamp.initial", Ty::Long),
    opt("validate.non.null", Ty::Bool),
    opt("query", Ty::Str),
    opt("query.masked", Ty::Password),
    one_of(
        "quote.sql.identifiers",
        Valid::AnyCase(&["always", "never"]),
    ),
    opt("query.suffix", Ty::Str),
    // Read with TransactionIsolationMode.valueOf (JdbcSourceConnectorValidation): exact names.
    one_of(
        "transaction.isolation.mode",
        Valid::Exact(&[
            "DEFAULT",
            "READ_UNCOMMITTED",
            "READ_COMMITTED",
            "REPEATABLE_READ",
            "SERIALIZABLE",
            "SQL_SERVER_SNAPSHOT",
        ]),
    ),
    opt("query.retry.attempts", Ty::Int),
    // -- Connector group (addConnectorOptions)
    opt("table.types", Ty::List),
    opt("poll.interval.ms", Ty::Int),
    opt("batch.max.rows", Ty::Int),
    opt("max.buffer.size", Ty::Int),
    opt("poll.linger.ms", Ty::Long),
    // defineInternal: accepted, not on the docs page.
    opt("table.monitoring.startup.polling.limit.ms", Ty::Long),
    opt("table.poll.interval.ms", Ty::Long),
    // Default "" (topics named after tables); with `query` it is the full topic name, so
    // `semantics` requires it there.
    Doc {
        valid: Valid::TopicPrefix,
        ..opt("topic.prefix", Ty::Str)
    },
    opt("timestamp.delay.interval.ms", Ty::Long),
    opt("db.timezone", Ty::Str),
    one_of(
        "timestamp.granularity",
        Valid::UpperOrLower(&[
            "connect_logical",
            "micros_long",
            "micros_string",
            "micros_iso_datetime_string",
            "nanos_long",
            "nanos_string",
            "nanos_iso_datetime_string",
        ]),
    ),
];

/// Kafka Connect `SourceConnectorConfig.configDef()` (ConnectorConfig's keys, then the source ones).
const FRAMEWORK_KEYS: &[Doc] = &[
    Doc {
        required: true,
        valid: Valid::Name,
        ..opt("name", Ty::Str)
    },
    Doc {
        required: true,
        ..opt("connector.class", Ty::Str)
    },
    opt("connector.plugin.version", Ty::Str),
    Doc {
        valid: Valid::AtLeast(1),
        ..opt("tasks.max", Ty::Int)
    },
    opt("tasks.max.enforce", Ty::Bool),
    opt("key.converter", Ty::Class),
    opt("key.converter.plugin.version", Ty::Str),
    opt("value.converter", Ty::Class),
    opt("value.converter.plugin.version", Ty::Str),
    opt("header.converter", Ty::Class),
    opt("header.converter.plugin.version", Ty::Str),
    opt("transforms", Ty::List),
    opt("predicates", Ty::List),
    one_of("config.action.reload", Valid::Exact(&["none", "restart"])),
    opt("errors.retry.timeout", Ty::Long),
    opt("errors.retry.delay.max.ms", Ty::Long),
    one_of("errors.tolerance", Valid::Exact(&["none", "all"])),
    opt("errors.log.enable", Ty::Bool),
    opt("errors.log.include.messages", Ty::Bool),
    opt("topic.creation.groups", Ty::List),
    one_of(
        "exactly.once.support",
        Valid::AnyCase(&["required", "requested"]),
    ),
    one_of(
        "transaction.boundary",
        Valid::AnyCase(&["interval", "poll", "connector"]),
    ),
    Doc {
        valid: Valid::AtLeast(0),
        ..opt("transaction.boundary.interval.ms", Ty::Long)
    },
    opt("offsets.storage.topic", Ty::Str),
];

fn documented(key: &str) -> Option<&'static Doc> {
    JDBC_SOURCE_KEYS
        .iter()
        .chain(FRAMEWORK_KEYS)
        .find(|d| d.key == key)
}

/// A value holding a config-provider reference (`${provider:[path:]key}`), which Connect
/// resolves before the connector sees it.
fn is_reference(v: &str) -> bool {
    let Some(start) = v.find("${") else {
        return false;
    };
    v[start + 2..]
        .find('}')
        .is_some_and(|end| v[start + 2..start + 2 + end].contains(':'))
}

fn java_class_name(v: &str) -> bool {
    !v.is_empty()
        && v.split('.').all(|seg| {
            seg.chars().next().is_some_and(|c| !c.is_ascii_digit())
                && seg
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

fn nearest_documented(key: &str) -> Option<&'static str> {
    JDBC_SOURCE_KEYS
        .iter()
        .chain(FRAMEWORK_KEYS)
        .map(|d| (edit_distance(key, d.key), d.key))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| k)
}

/// Does `v` parse as `ty` the way `ConfigDef.parseType` parses a string (trimmed)?
fn parses_as(ty: Ty, v: &str) -> bool {
    let t = v.trim();
    match ty {
        Ty::Str | Ty::List | Ty::Password => true,
        Ty::Int => t.parse::<i32>().is_ok(),
        Ty::Short => t.parse::<i16>().is_ok(),
        Ty::Long => t.parse::<i64>().is_ok(),
        Ty::Bool => t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false"),
        Ty::Class => java_class_name(t),
    }
}

/// Problems with one documented key's value.
fn check_value(doc: &Doc, v: &str) -> Option<String> {
    let key = doc.key;
    if is_reference(v) {
        // The resolved value is unknown here: fine wherever any string is valid.
        let unchecked = matches!(doc.ty, Ty::Password)
            || (matches!(doc.ty, Ty::Str | Ty::List) && matches!(doc.valid, Valid::Any));
        return (!unchecked).then(|| {
            format!("`{key}` holds a config-provider reference, so its value cannot be checked as {:?} {:?}", doc.ty, doc.valid)
        });
    }
    if !parses_as(doc.ty, v) {
        return Some(format!(
            "`{key}` = {v:?} is not a valid {:?} (documented type)",
            doc.ty
        ));
    }
    let ok = match doc.valid {
        Valid::Any => true,
        Valid::Exact(set) => set.contains(&v),
        Valid::UpperOrLower(set) => set.iter().any(|s| v == *s || v == s.to_uppercase()),
        Valid::AnyCase(set) => set.iter().any(|s| v.trim().eq_ignore_ascii_case(s)),
        Valid::AtLeast(n) => v.trim().parse::<i64>().is_ok_and(|x| x >= n),
        Valid::Name => !v.is_empty() && !v.chars().any(char::is_control),
        Valid::TopicPrefix => {
            let t = v.trim();
            t.len() <= 249
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        }
    };
    (!ok).then(|| {
        format!(
            "`{key}` = {v:?} is not one of the documented values: {:?}",
            doc.valid
        )
    })
}

fn list(cfg: &BTreeMap<String, String>, key: &str) -> Vec<String> {
    cfg.get(key)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Keys outside the exact tables that a documented prefix family accepts: `Ok(())`, a problem,
/// or `None` when no family claims the key.
fn check_prefixed(
    cfg: &BTreeMap<String, String>,
    key: &str,
    v: &str,
) -> Option<Result<(), String>> {
    // JDBC driver properties (GenericDatabaseDialect: originalsWithPrefix("connection.")). A key
    // one or two edits from a documented `connection.*` key is a typo, not a driver property.
    if key.starts_with("connection.") {
        let near = JDBC_SOURCE_KEYS
            .iter()
            .filter(|d| d.key.starts_with("connection."))
            .find(|d| edit_distance(key, d.key) <= 2);
        return Some(match near {
            Some(d) => Err(format!(
                "`{key}` is not documented (did you mean `{}`?); it would go to the JDBC driver as a driver property",
                d.key
            )),
            None => Ok(()),
        });
    }
    // Credentials-provider, converter and client-override settings (passed through as is).
    for p in [
        "jdbc.credentials.provider.",
        "key.converter.",
        "value.converter.",
        "header.converter.",
        "producer.override.",
        "consumer.override.",
        "admin.override.",
    ] {
        if key.starts_with(p) && key.len() > p.len() {
            return Some(Ok(()));
        }
    }
    // transforms.<alias>.* / predicates.<alias>.* for declared aliases (ConnectorConfig.enrich).
    for (family, what) in [
        ("transforms", "transformation"),
        ("predicates", "predicate"),
    ] {
        let Some(rest) = key.strip_prefix(&format!("{family}.")) else {
            continue;
        };
        let aliases = list(cfg, family);
        let Some(alias) = aliases
            .iter()
            .filter(|a| rest.starts_with(&format!("{a}.")))
            .max_by_key(|a| a.len())
        else {
            return Some(Err(format!(
                "`{key}` configures a {what} alias that `{family}` does not declare ({aliases:?})"
            )));
        };
        let field = &rest[alias.len() + 1..];
        let problem = match (family, field) {
            (_, "type") => {
                (!java_class_name(v.trim())).then(|| format!("`{key}` = {v:?} is not a class name"))
            }
            ("transforms", "negate") => {
                (!parses_as(Ty::Bool, v)).then(|| format!("`{key}` = {v:?} is not a boolean"))
            }
            ("transforms", "predicate") => (!list(cfg, "predicates")
                .contains(&v.trim().to_owned()))
            .then(|| format!("`{key}` names predicate {v:?}, which `predicates` does not declare")),
            _ => None, // the plugin's own settings
        };
        return Some(problem.map_or(Ok(()), Err));
    }
    // topic.creation.<group>.* (TopicCreationConfig; KIP-158).
    if let Some(rest) = key.strip_prefix("topic.creation.") {
        let mut groups = list(cfg, "topic.creation.groups");
        groups.push("default".into());
        let Some(group) = groups
            .iter()
            .filter(|g| rest.starts_with(&format!("{g}.")))
            .max_by_key(|g| g.len())
        else {
            return Some(Err(format!(
                "`{key}` configures a topic creation group that is neither `default` nor in `topic.creation.groups`"
            )));
        };
        let field = &rest[group.len() + 1..];
        let minus_one_or_positive =
            |ty: Ty| parses_as(ty, v) && v.trim().parse::<i64>().is_ok_and(|x| x == -1 || x >= 1);
        let problem = match field {
            "include" | "exclude" if group == "default" => Some(format!(
                "`{key}`: the default group takes every topic; Connect drops its include/exclude"
            )),
            "include" | "exclude" => None,
            "replication.factor" => (!minus_one_or_positive(Ty::Short))
                .then(|| format!("`{key}` = {v:?} is not -1 or a positive short")),
            "partitions" => (!minus_one_or_positive(Ty::Int))
                .then(|| format!("`{key}` = {v:?} is not -1 or a positive int")),
            _ => None, // any topic-level config (cleanup.policy, ...)
        };
        return Some(problem.map_or(Ok(()), Err));
    }
    None
}

/// The connector's cross-key rules (JdbcSourceConnectorValidation and the mode's needs).
fn semantics(cfg: &BTreeMap<String, String>, out: &mut Vec<String>) {
    let set = |k: &str| cfg.get(k).is_some_and(|v| !v.trim().is_empty());
    let which = |keys: &[&'static str]| -> Vec<&'static str> {
        keys.iter().copied().filter(|k| set(k)).collect()
    };
    let query = set("query") || set("query.masked");
    let filters = which(&[
        "table.whitelist",
        "table.blacklist",
        "table.include.list",
        "table.exclude.list",
    ]);
    let legacy = which(&[
        "table.whitelist",
        "table.blacklist",
        "incrementing.column.name",
        "timestamp.column.name",
    ]);
    let new = which(&[
        "table.include.list",
        "table.exclude.list",
        "incrementing.column.mapping",
        "timestamp.columns.mapping",
    ]);

    if set("query") && set("query.masked") {
        out.push("`query` and `query.masked` are exclusive".into());
    }
    if query && !filters.is_empty() {
        out.push(format!(
            "`query` is exclusive with the table filters, but {filters:?} are set too"
        ));
    }
    for k in ["query", "query.masked"] {
        let Some(q) = cfg
            .get(k)
            .filter(|q| !q.trim().is_empty() && !is_reference(q))
        else {
            continue;
        };
        let t = q.trim_start();
        let select = t.len() >= 6
            && t[..6].eq_ignore_ascii_case("select")
            && !t[6..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !select {
            out.push(format!("`{k}` must be a statement starting with SELECT"));
        }
    }
    if set("table.whitelist") && set("table.blacklist") {
        out.push("`table.whitelist` and `table.blacklist` are exclusive".into());
    }
    if !query {
        if !legacy.is_empty() && !new.is_empty() {
            out.push(format!(
                "legacy keys {legacy:?} cannot be mixed with their replacements {new:?}"
            ));
        }
        if legacy.is_empty() && new.is_empty() {
            out.push(
                "without `query`, one of table.whitelist / table.blacklist / table.include.list / table.exclude.list is required"
                    .into(),
            );
        }
    }
    if set("table.exclude.list") && !set("table.include.list") {
        out.push("`table.exclude.list` requires `table.include.list`".into());
    }
    if query && !set("topic.prefix") {
        out.push("with `query`, `topic.prefix` is the full topic name and must be set".into());
    }

    let mode = cfg.get("mode").map(String::as_str).unwrap_or("");
    if MODES.contains(&mode) {
        let uses_inc = matches!(mode, "incrementing" | "timestamp+incrementing");
        let uses_ts = matches!(mode, "timestamp" | "timestamp+incrementing");
        let new_style = !query && !new.is_empty();
        let (inc_key, ts_key) = if new_style {
            ("incrementing.column.mapping", "timestamp.columns.mapping")
        } else {
            ("incrementing.column.name", "timestamp.column.name")
        };
        // An empty incrementing.column.name is autodetected, but only from a table (legacy
        // table mode); a query has no table to look at.
        let autodetect = !query && !new_style;
        if uses_inc && !set(inc_key) && !autodetect {
            out.push(format!("mode `{mode}` needs `{inc_key}`"));
        }
        if uses_ts && !set(ts_key) {
            out.push(format!("mode `{mode}` needs `{ts_key}`"));
        }
        if !uses_inc && set("incrementing.column.mapping") {
            out.push(format!(
                "mode `{mode}` takes no `incrementing.column.mapping`"
            ));
        }
        if !uses_ts && set("timestamp.columns.mapping") {
            out.push(format!(
                "mode `{mode}` takes no `timestamp.columns.mapping`"
            ));
        }
    }

    if cfg.get("transaction.isolation.mode").map(String::as_str) == Some("SQL_SERVER_SNAPSHOT") {
        let dialect = cfg.get("dialect.name").map(|s| s.trim()).unwrap_or("");
        let url = cfg.get("connection.url").map(String::as_str).unwrap_or("");
        let sql_server = dialect == "SqlServerDatabaseDialect"
            || (dialect.is_empty()
                && (url.starts_with("jdbc:sqlserver:")
                    || url.starts_with("jdbc:microsoft:sqlserver:")));
        if !sql_server {
            out.push(
                "`transaction.isolation.mode` SQL_SERVER_SNAPSHOT needs the SQL Server dialect"
                    .into(),
            );
        }
    }

    for alias in list(cfg, "transforms") {
        if !set(&format!("transforms.{alias}.type")) {
            out.push(format!(
                "transformation `{alias}` has no `transforms.{alias}.type`"
            ));
        }
    }
    for alias in list(cfg, "predicates") {
        if !set(&format!("predicates.{alias}.type")) {
            out.push(format!(
                "predicate `{alias}` has no `predicates.{alias}.type`"
            ));
        }
    }
    if cfg.keys().any(|k| k.starts_with("topic.creation.")) {
        for k in [
            "topic.creation.default.replication.factor",
            "topic.creation.default.partitions",
        ] {
            if !set(k) {
                out.push(format!(
                    "topic creation settings are given, so `{k}` is required"
                ));
            }
        }
    }
}

/// MySQL Connector/J's URL form, `jdbc:mysql://host[:port][/database][?key=value[&…]]`
/// (MySQL Connector/J 9.x Developer Guide, "Connection URL Syntax":
/// https://dev.mysql.com/doc/connector-j/en/connector-j-reference-jdbc-url-format.html). A
/// `;databaseName=` suffix is SQL Server's syntax: Connector/J would take it as part of the
/// host and port. The original chart's example had it.
fn mysql_url(cfg: &BTreeMap<String, String>, out: &mut Vec<String>) {
    let Some(url) = cfg.get("connection.url") else {
        return;
    };
    let Some(rest) = url.strip_prefix("jdbc:mysql://") else {
        return;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.contains(';') || authority.is_empty() {
        out.push(format!(
            "`connection.url` {url} is not Connector/J's jdbc:mysql://host[:port]/database form"
        ));
    }
}

/// Every way `cfg` departs from the documented JDBC source config (empty: none).
fn problems(cfg: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    mysql_url(cfg, &mut out);
    for (k, v) in cfg {
        if let Some(doc) = documented(k) {
            out.extend(check_value(doc, v));
        } else {
            match check_prefixed(cfg, k, v) {
                Some(Ok(())) => {}
                Some(Err(e)) => out.push(e),
                None => out.push(match nearest_documented(k) {
                    Some(n) => format!("`{k}` is not a documented key (did you mean `{n}`?)"),
                    None => format!("`{k}` is not a documented key"),
                }),
            }
        }
    }
    for doc in JDBC_SOURCE_KEYS.iter().chain(FRAMEWORK_KEYS) {
        if doc.required && cfg.get(doc.key).is_none_or(|v| v.trim().is_empty()) {
            out.push(format!("required key `{}` is missing or empty", doc.key));
        }
    }
    semantics(cfg, &mut out);
    out
}

/// What Kafka Connect receives for a KafkaConnector: Strimzi sends `spec.config` plus
/// `connector.class` (`spec.class`), `tasks.max` (`spec.tasksMax`) and `name` (`metadata.name`).
/// Config keys contain dots, so the maps are walked by hand (`Value::get` splits on dots).
fn effective_config(desired: &Value) -> (String, BTreeMap<String, String>) {
    let top = desired
        .as_map()
        .expect("a KafkaConnector's desired tree is a map");
    let field = |m: &BTreeMap<String, Value>, k: &str| m.get(k).cloned();
    let metadata = field(top, "metadata").expect("no metadata");
    let name = metadata
        .as_map()
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .expect("no metadata.name")
        .to_owned();
    let spec = field(top, "spec").expect("no spec");
    let spec = spec.as_map().expect("spec is not a map");
    let mut cfg = BTreeMap::new();
    if let Some(Value::Map(config)) = spec.get("config") {
        for (k, v) in config {
            let text = match v {
                Value::Str(s) => s.clone(),
                other => panic!("{name}: config `{k}` is not a string: {other:?}"),
            };
            cfg.insert(k.clone(), text);
        }
    }
    if let Some(class) = spec.get("class").and_then(Value::as_str) {
        cfg.entry("connector.class".into())
            .or_insert_with(|| class.to_owned());
    }
    if let Some(n) = spec.get("tasksMax").and_then(Value::as_i64) {
        cfg.entry("tasks.max".into())
            .or_insert_with(|| n.to_string());
    }
    cfg.entry("name".into()).or_insert_with(|| name.clone());
    (name, cfg)
}

#[test]
fn shipped_jdbc_source_connectors_match_the_documented_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = BTreeMap::new();
    let mut failures = Vec::new();
    for profile in ["minikube", "k3d", "k3s", "eks-prod", "eks-dev"] {
        let l = alpaka::config::load(root, profile)
            .unwrap_or_else(|e| panic!("{profile}: profile does not load: {e:?}"));
        let nodes = alpaka::stack::build(&l.profile_name, &l.profile, &l.config)
            .unwrap_or_else(|e| panic!("{profile}: stack does not build: {e:?}"));
        for n in nodes.iter().filter(|n| n.kind == "strimzi.kafkaconnector") {
            if n.desired.get("spec.class").and_then(Value::as_str) != Some(JDBC_SOURCE) {
                continue;
            }
            let (name, cfg) = effective_config(&n.desired);
            *found.entry(profile).or_insert(0) += 1;
            for p in problems(&cfg) {
                failures.push(format!("{profile}: connector {name} ({}): {p}", n.id));
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no {JDBC_SOURCE} connector in any shipped profile: the check would pass vacuously"
    );
    assert!(
        failures.is_empty(),
        "shipped JDBC source connectors depart from kafka-connect-jdbc 10.9.2's documented config \
         (connectors checked per profile: {found:?}):\n  {}",
        failures.join("\n  ")
    );
}

/// A config the checker accepts: what the shipped `mydb_log` group renders to.
fn valid_config() -> BTreeMap<String, String> {
    [
        ("name", "srccon-mydb-log-log1"),
        ("connector.class", JDBC_SOURCE),
        ("tasks.max", "1"),
        ("connection.url", "jdbc:mysql://mysql-db-addr:3306/mydb"),
        (
            "connection.password",
            "${secrets:alpaka/alpaka-connect-srccon:srccon-mydb-log-log1.connection.password}",
        ),
        ("mode", "incrementing"),
        ("incrementing.column.name", "id"),
        ("topic.prefix", "log1"),
        ("query", "SELECT * FROM log1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[test]
fn the_checker_rejects_a_misspelt_key_and_a_bad_mode() {
    assert_eq!(problems(&valid_config()), Vec::<String>::new());

    let mut typo = valid_config();
    let id = typo.remove("incrementing.column.name").unwrap();
    typo.insert("incrementing.colum.name".into(), id);
    let p = problems(&typo);
    assert!(
        p.iter().any(
            |m| m.contains("`incrementing.colum.name` is not a documented key")
                && m.contains("did you mean `incrementing.column.name`")
        ),
        "{p:?}"
    );
    // Dropping the real key also breaks the mode's need for it (a query cannot autodetect).
    assert!(
        p.iter()
            .any(|m| m.contains("needs `incrementing.column.name`")),
        "{p:?}"
    );

    // The original chart's SQL Server-style URL, which Connector/J cannot parse.
    let mut sqlserver_url = valid_config();
    sqlserver_url.insert(
        "connection.url".into(),
        "jdbc:mysql://mysql-db-addr:3306;databaseName=mydb".into(),
    );
    assert!(
        problems(&sqlserver_url)
            .iter()
            .any(|m| m.contains("Connector/J")),
        "{:?}",
        problems(&sqlserver_url)
    );

    let mut bad_mode = valid_config();
    bad_mode.insert("mode".into(), "incremental".into());
    let p = problems(&bad_mode);
    assert!(
        p.iter().any(|m| m.starts_with("`mode` = \"incremental\"")),
        "{p:?}"
    );
    // Case matters for `mode` (ValidString.in).
    bad_mode.insert("mode".into(), "BULK".into());
    assert!(problems(&bad_mode).iter().any(|m| m.starts_with("`mode`")));
}

#[test]
fn the_checker_enforces_types_exclusivity_and_driver_property_typos() {
    let with = |k: &str, v: &str| {
        let mut c = valid_config();
        c.insert(k.into(), v.into());
        problems(&c)
    };
    assert!(
        with("poll.interval.ms", "5s")
            .iter()
            .any(|m| m.contains("not a valid Int"))
    );
    assert!(
        with("validate.non.null", "yes")
            .iter()
            .any(|m| m.contains("not a valid Bool"))
    );
    assert!(
        with("table.whitelist", "log1")
            .iter()
            .any(|m| m.contains("exclusive"))
    );
    assert!(
        with("topic.prefix", "log 1")
            .iter()
            .any(|m| m.contains("`topic.prefix`"))
    );
    assert!(
        with("connection.pasword", "x")
            .iter()
            .any(|m| m.contains("did you mean `connection.password`"))
    );
    // A driver property under `connection.` is documented pass-through.
    assert_eq!(with("connection.loginTimeout", "10"), Vec::<String>::new());
    assert_eq!(with("numeric.mapping", "BEST_FIT"), Vec::<String>::new());
    assert!(
        with("numeric.mapping", "Best_Fit")
            .iter()
            .any(|m| m.starts_with("`numeric.mapping`"))
    );
    let mut no_mode = valid_config();
    no_mode.remove("mode");
    assert!(
        problems(&no_mode)
            .iter()
            .any(|m| m.contains("required key `mode`"))
    );
}

/// `alpaka test`'s own JDBC source connector (the one its Jobs wait on) gets the checks the
/// shipped ones get: it runs in the same Connect image, against the same connector version.
#[test]
fn alpaka_tests_jdbc_connector_matches_the_documented_config() {
    use alpaka::stack::testkit::{RunId, TestKit};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let l = alpaka::config::load(root, "k3d").expect("the k3d profile loads");
    let run = RunId::new("ab12cd34").expect("a valid run id");
    let kit = TestKit {
        run: &run,
        ns: "alpaka",
        cfg: &l.config,
        mirror: None,
    };
    let connector = kit
        .jdbc_connector("srccon")
        .into_iter()
        .find(|o| o["kind"] == "KafkaConnector")
        .expect("alpaka test makes a KafkaConnector");
    let spec = &connector["spec"];
    assert_eq!(spec["class"], JDBC_SOURCE);
    let mut cfg: BTreeMap<String, String> = spec["config"]
        .as_object()
        .expect("a config map")
        .iter()
        .map(|(k, v)| {
            let text = v
                .as_str()
                .unwrap_or_else(|| panic!("config `{k}` is not a string: {v}"));
            (k.clone(), text.to_owned())
        })
        .collect();
    cfg.insert("connector.class".into(), JDBC_SOURCE.into());
    if let Some(n) = spec["tasksMax"].as_i64() {
        cfg.insert("tasks.max".into(), n.to_string());
    }
    let name = connector["metadata"]["name"].as_str().unwrap_or_default();
    cfg.insert("name".into(), name.to_owned());
    let problems = problems(&cfg);
    assert!(
        problems.is_empty(),
        "alpaka test's JDBC connector departs from kafka-connect-jdbc 10.9.2's documented \
         config:\n  {}",
        problems.join("\n  ")
    );
}
