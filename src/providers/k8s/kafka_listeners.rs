//! Taking a listener away from a running Strimzi `Kafka` without cutting off its clients.
//!
//! The clients (Connect, ksqlDB, the UIs, the tool) are other resources that move to the new
//! listener in the same apply, after the Kafka. Removing the old listener in the Kafka's own
//! step would leave them unable to connect until each one has rolled. So the Kafka is applied in
//! two steps: first with the listeners being removed still there (and, when one of them has no
//! authentication while the new spec turns authorization on, with its anonymous clients as super
//! users, as they had no restrictions before), then, once everything that waits for the Kafka
//! has been applied, as configured.

use crate::engine::Value;

/// Strimzi names the principal of an unauthenticated client `ANONYMOUS` (Kafka's
/// `KafkaPrincipal.ANONYMOUS`); `superUsers` entries are bare names (Strimzi adds `User:`).
const ANONYMOUS: &str = "ANONYMOUS";

fn listeners(v: &Value) -> Vec<&Value> {
    match v.get("spec.kafka.listeners") {
        Some(Value::List(l)) => l.iter().collect(),
        _ => Vec::new(),
    }
}

fn name(listener: &Value) -> Option<&str> {
    listener.get("name").and_then(Value::as_str)
}

fn port(listener: &Value) -> Option<i64> {
    listener.get("port").and_then(Value::as_i64)
}

/// The Kafka to apply first, and what the plan says about it, when `desired` drops listeners
/// `live` has; `None` when nothing needs bridging (or when a dropped listener's port is taken by
/// a new one, so both cannot exist at once).
pub fn interim(live: &Value, desired: &Value) -> Option<(Value, String)> {
    let wanted = listeners(desired);
    let removed: Vec<&Value> = listeners(live)
        .into_iter()
        .filter(|l| !wanted.iter().any(|w| name(w) == name(l)))
        .collect();
    if removed.is_empty()
        || removed
            .iter()
            .any(|r| wanted.iter().any(|w| port(w) == port(r)))
    {
        return None;
    }
    let mut bridge = desired.clone();
    let Value::Map(top) = &mut bridge else {
        return None;
    };
    let Some(Value::Map(spec)) = top.get_mut("spec") else {
        return None;
    };
    let Some(Value::Map(kafka)) = spec.get_mut("kafka") else {
        return None;
    };
    if let Some(Value::List(l)) = kafka.get_mut("listeners") {
        l.extend(removed.iter().map(|r| (*r).clone()));
    }
    let anonymous = removed.iter().any(|r| r.get("authentication").is_none());
    let mut opened = false;
    if anonymous
        && let Some(Value::Map(authz)) = kafka.get_mut("authorization")
        && let Some(Value::List(supers)) = authz.get_mut("superUsers")
        && !supers.iter().any(|s| s.as_str() == Some(ANONYMOUS))
    {
        supers.push(Value::str(ANONYMOUS));
        opened = true;
    }
    let names: Vec<String> = removed
        .iter()
        .map(|r| match (name(r), port(r)) {
            (Some(n), Some(p)) => format!("`{n}` ({p})"),
            (Some(n), None) => format!("`{n}`"),
            _ => "unnamed".to_owned(),
        })
        .collect();
    let (them, stay) = if names.len() == 1 {
        ("it is", "stays")
    } else {
        ("they are", "stay")
    };
    let mut note = format!(
        "in two steps, so no client is cut off: listener {} {stay} beside the new ones",
        names.join(", ")
    );
    if opened {
        note.push_str(" (its unauthenticated clients keep the access they had)");
    }
    note.push_str(&format!(
        " until everything that uses this Kafka has been applied; then {them} removed"
    ));
    Some((bridge, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(name: &str, port: i64, auth: bool) -> Value {
        let mut m = vec![
            ("name", Value::str(name)),
            ("port", Value::Int(port)),
            ("type", Value::str("internal")),
            ("tls", Value::Bool(auth)),
        ];
        if auth {
            m.push((
                "authentication",
                Value::map([("type", Value::str("scram-sha-512"))]),
            ));
        }
        Value::map(m)
    }

    fn kafka(listeners: Vec<Value>, authz: bool) -> Value {
        let mut k = vec![("listeners", Value::List(listeners))];
        if authz {
            k.push((
                "authorization",
                Value::map([
                    ("type", Value::str("simple")),
                    ("superUsers", Value::List(vec![Value::str("alpaka-admin")])),
                ]),
            ));
        }
        Value::map([("spec", Value::map([("kafka", Value::map(k))]))])
    }

    #[test]
    fn a_dropped_plain_listener_stays_with_its_anonymous_clients_until_the_second_step() {
        let live = kafka(vec![listener("plain", 9092, false)], false);
        let desired = kafka(vec![listener("tls", 9093, true)], true);
        let (bridge, note) = interim(&live, &desired).unwrap();
        let names: Vec<_> = listeners(&bridge).into_iter().filter_map(name).collect();
        assert_eq!(names, ["tls", "plain"]);
        assert_eq!(
            bridge.get("spec.kafka.authorization.superUsers"),
            Some(&Value::List(vec![
                Value::str("alpaka-admin"),
                Value::str(ANONYMOUS)
            ]))
        );
        assert!(note.contains("`plain` (9092) stays"), "{note}");
        assert!(note.contains("unauthenticated clients"), "{note}");
    }

    #[test]
    fn nothing_to_bridge_when_no_listener_goes_or_its_port_is_reused() {
        let both = kafka(
            vec![listener("plain", 9092, false), listener("tls", 9093, true)],
            true,
        );
        let tls = kafka(vec![listener("tls", 9093, true)], true);
        // Adding a listener, or keeping them all: one step.
        assert!(interim(&tls, &both).is_none());
        assert!(interim(&both, &both).is_none());
        // The old listener's port taken by a new one: both cannot exist at once.
        let renamed = kafka(vec![listener("secure", 9092, true)], true);
        let plain = kafka(vec![listener("plain", 9092, false)], false);
        assert!(interim(&plain, &renamed).is_none());
        // An authenticated listener dropped: kept meanwhile, no one opened up.
        let (bridge, note) =
            interim(&both, &kafka(vec![listener("plain", 9092, false)], true)).unwrap();
        assert_eq!(listeners(&bridge).len(), 2);
        assert!(!note.contains("unauthenticated"), "{note}");
    }
}
