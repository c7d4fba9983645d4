//! `alert`, its inline handlers, and `deadman` (sugar that returns an alert node).

use super::{
    QUIET, and, dur, float, int, lambda, lambdas, scalar, set_kv, string, strings, wrong_node,
};
use crate::expr::{BinaryOp, Expr};
use crate::plan::{
    AlertSpec, AlertaHandler, BigPandaHandler, DiscordHandler, EmailHandler, ExecHandler, Flapping,
    HandlerSpec, HipChatHandler, Inhibitor, KafkaHandler, Link, LogHandler, MqttHandler, NodeSpec,
    OpsGenie2Handler, OpsGenieHandler, PagerDuty2Handler, PagerDutyHandler, PostHandler,
    PushoverHandler, SensuHandler, ServiceNowHandler, SlackHandler, SnmpData, SnmpTrapHandler,
    TalkHandler, TcpHandler, TeamsHandler, TelegramHandler, VictorOpsHandler, ZenossHandler,
};
use crate::registry::{ArgKind, NodeDef, Param, Params, PropDef, Provides, Special, Wants};

/// The handler the last opened handler property created.
fn last_handler<'a>(spec: &'a mut NodeSpec, prop: &str) -> Result<&'a mut HandlerSpec, String> {
    let NodeSpec::Alert(al) = spec else {
        return Err(wrong_node(prop, spec));
    };
    al.handlers
        .last_mut()
        .ok_or_else(|| format!("`.{prop}()` must follow its alert handler"))
}

fn wrong_handler(prop: &str, h: &HandlerSpec) -> String {
    format!(
        "`.{prop}()` is not a property of the `.{}()` handler",
        h.method()
    )
}

/// A property of handler `$H`: `hprop!("name", "doc", params, H, |h, args| {...})`.
macro_rules! hprop {
    ($name:literal, $doc:literal, $params:expr, $H:ident, |$h:ident, $a:ident| $body:block) => {
        PropDef {
            name: $name,
            doc: $doc,
            params: $params,
            apply: |spec, $a| {
                let _ = &$a;
                let h = last_handler(spec, $name)?;
                let HandlerSpec::$H($h) = h else { return Err(wrong_handler($name, h)) };
                $body
                Ok(())
            },
            opens: None,
        }
    };
}

macro_rules! hstr {
    ($name:literal, $doc:literal, $H:ident, $field:ident) => {
        hprop!($name, $doc, params!([$name String] []), $H, |h, a| {
            h.$field = string(a, 0)?;
        })
    };
}

macro_rules! hflag {
    ($name:literal, $doc:literal, $H:ident, $field:ident) => {
        hprop!($name, $doc, Params::NONE, $H, |h, a| {
            h.$field = true;
        })
    };
}

macro_rules! hstrs {
    ($name:literal, $doc:literal, $p:literal, $H:ident, $field:ident) => {
        hprop!($name, $doc, params!([] [] $p String), $H, |h, a| {
            h.$field = strings(a, 0)?;
        })
    };
}

/// `(key, value)` with a free-typed value.
macro_rules! hkv {
    ($name:literal, $doc:literal, $H:ident, $field:ident) => {
        hprop!($name, $doc, params!(["key" String, "value" Scalar] []), $H, |h, a| {
            set_kv(&mut h.$field, string(a, 0)?, scalar(a, 1)?);
        })
    };
}

/// A handler method: pushes a new handler built by `$build` (which may use `?`) and opens
/// its properties.
macro_rules! handler {
    ($name:literal, $doc:literal, $params:expr, $props:expr, |$a:ident| $build:expr) => {
        PropDef {
            name: $name,
            doc: $doc,
            params: $params,
            apply: |spec, $a| {
                let _ = &$a;
                let h: HandlerSpec = $build;
                let NodeSpec::Alert(al) = spec else {
                    return Err(wrong_node($name, spec));
                };
                al.handlers.push(h);
                Ok(())
            },
            opens: Some($props),
        }
    };
}

const POST_PROPS: &[PropDef] = &[
    hstr!(
        "endpoint",
        "A `[[httppost]]` endpoint from the configuration.",
        Post,
        endpoint
    ),
    hprop!(
        "header",
        "An HTTP header to send.",
        params!(["name" String, "value" String] []),
        Post,
        |h, a| {
            set_kv(&mut h.headers, string(a, 0)?, string(a, 1)?);
        }
    ),
    hflag!(
        "captureResponse",
        "Log the response body of non-2xx responses.",
        Post,
        capture_response
    ),
    hprop!(
        "timeout",
        "Request timeout (0 = none).",
        params!(["timeout" Duration] []),
        Post,
        |h, a| {
            h.timeout = dur(a, 0)?;
        }
    ),
    hflag!(
        "skipSSLVerification",
        "Do not verify the server's TLS certificate.",
        Post,
        skip_ssl_verification
    ),
];

const TCP_PROPS: &[PropDef] = &[];

const EMAIL_PROPS: &[PropDef] = &[
    hprop!(
        "to",
        "Add recipients.",
        params!([] [] "address" String),
        Email,
        |h, a| {
            h.to.extend(strings(a, 0)?);
        }
    ),
    hprop!(
        "toTemplates",
        "Add recipient templates.",
        params!([] [] "template" String),
        Email,
        |h, a| {
            h.to_templates.extend(strings(a, 0)?);
        }
    ),
];

const EXEC_PROPS: &[PropDef] = &[];

const LOG_PROPS: &[PropDef] = &[hprop!(
    "mode",
    "File mode used when creating the file (default 0600).",
    params!(["mode" Int] []),
    Log,
    |h, a| {
        h.mode = int(a, 0)?;
    }
)];

const VICTOROPS_PROPS: &[PropDef] = &[hstr!(
    "routingKey",
    "VictorOps routing key.",
    VictorOps,
    routing_key
)];

const PAGERDUTY_PROPS: &[PropDef] = &[hstr!(
    "serviceKey",
    "PagerDuty service key.",
    PagerDuty,
    service_key
)];

const PAGERDUTY2_PROPS: &[PropDef] = &[
    hstr!(
        "routingKey",
        "PagerDuty routing (integration) key.",
        PagerDuty2,
        routing_key
    ),
    hprop!(
        "link",
        "Add a link to the event.",
        params!(["href" String] ["text" String]),
        PagerDuty2,
        |h, a| {
            let text = if a.len() > 1 {
                string(a, 1)?
            } else {
                String::new()
            };
            h.links.push(Link {
                href: string(a, 0)?,
                text,
            });
        }
    ),
];

const PUSHOVER_PROPS: &[PropDef] = &[
    hstr!("userKey", "Pushover user key.", Pushover, user_key),
    hstr!("device", "Device name to send to.", Pushover, device),
    hstr!("title", "Message title.", Pushover, title),
    hstr!("uRL", "Supplementary URL.", Pushover, url),
    hstr!(
        "uRLTitle",
        "Title of the supplementary URL.",
        Pushover,
        url_title
    ),
    hstr!("sound", "Notification sound.", Pushover, sound),
];

const SENSU_PROPS: &[PropDef] = &[
    hstr!("source", "Sensu source name.", Sensu, source),
    hstrs!("handlers", "Sensu handlers.", "handler", Sensu, handlers),
    hkv!("metadata", "Add a metadata key and value.", Sensu, metadata),
];

const SLACK_PROPS: &[PropDef] = &[
    hstr!("workspace", "Configured Slack workspace.", Slack, workspace),
    hstr!("channel", "Channel or @user.", Slack, channel),
    hstr!("username", "Username of the message.", Slack, username),
    hstr!("iconEmoji", "Emoji icon of the message.", Slack, icon_emoji),
];

const DISCORD_PROPS: &[PropDef] = &[
    hstr!(
        "workspace",
        "Configured Discord workspace.",
        Discord,
        workspace
    ),
    hstr!("username", "Username of the message.", Discord, username),
    hstr!(
        "avatarURL",
        "Avatar URL of the message.",
        Discord,
        avatar_url
    ),
    hstr!("embedTitle", "Title of the embed.", Discord, embed_title),
];

const BIGPANDA_PROPS: &[PropDef] = &[
    hstr!("appKey", "BigPanda application key.", BigPanda, app_key),
    hstr!("host", "Host name of the alert.", BigPanda, host),
    hstr!(
        "primaryProperty",
        "Primary property of the alert.",
        BigPanda,
        primary_property
    ),
    hstr!(
        "secondaryProperty",
        "Secondary property of the alert.",
        BigPanda,
        secondary_property
    ),
    hkv!("attribute", "Add an attribute.", BigPanda, attributes),
];

const TELEGRAM_PROPS: &[PropDef] = &[
    hstr!("chatId", "Telegram chat id.", Telegram, chat_id),
    hstr!(
        "parseMode",
        "Message format: Markdown or HTML.",
        Telegram,
        parse_mode
    ),
    hflag!(
        "disableWebPagePreview",
        "Disable link previews.",
        Telegram,
        disable_web_page_preview
    ),
    hflag!(
        "disableNotification",
        "Send silently.",
        Telegram,
        disable_notification
    ),
];

const HIPCHAT_PROPS: &[PropDef] = &[
    hstr!("room", "HipChat room.", HipChat, room),
    hstr!("token", "HipChat token.", HipChat, token),
];

const ALERTA_PROPS: &[PropDef] = &[
    hstr!("token", "Alerta API token.", Alerta, token),
    hstr!(
        "tokenPrefix",
        "Authorization scheme before the token.",
        Alerta,
        token_prefix
    ),
    hstr!("resource", "Resource template.", Alerta, resource),
    hstr!("event", "Event template.", Alerta, event),
    hstr!("environment", "Environment template.", Alerta, environment),
    hstr!("group", "Group template.", Alerta, group),
    hstr!("value", "Value template.", Alerta, value),
    hstr!("origin", "Origin of the alert.", Alerta, origin),
    hstrs!(
        "services",
        "Affected services.",
        "service",
        Alerta,
        services
    ),
    hstrs!(
        "correlated",
        "Correlated events.",
        "event",
        Alerta,
        correlated
    ),
    hkv!("attribute", "Add an attribute.", Alerta, attributes),
    hprop!(
        "timeout",
        "Alert timeout.",
        params!(["timeout" Duration] []),
        Alerta,
        |h, a| {
            h.timeout = dur(a, 0)?;
        }
    ),
];

const OPSGENIE_PROPS: &[PropDef] = &[
    hstrs!("teams", "OpsGenie teams.", "team", OpsGenie, teams),
    hstrs!(
        "recipients",
        "OpsGenie recipients.",
        "recipient",
        OpsGenie,
        recipients
    ),
];

const OPSGENIE2_PROPS: &[PropDef] = &[
    hstrs!("teams", "OpsGenie teams.", "team", OpsGenie2, teams),
    hstrs!(
        "recipients",
        "OpsGenie recipients.",
        "recipient",
        OpsGenie2,
        recipients
    ),
    hstr!(
        "recoveryAction",
        "What to do on recovery: close (default) or notes.",
        OpsGenie2,
        recovery_action
    ),
];

const TALK_PROPS: &[PropDef] = &[];

const MQTT_PROPS: &[PropDef] = &[
    hstr!("brokerName", "Configured MQTT broker.", Mqtt, broker_name),
    hprop!(
        "qos",
        "Quality of service: 0, 1 or 2.",
        params!(["qos" Int] []),
        Mqtt,
        |h, a| {
            h.qos = int(a, 0)?;
        }
    ),
    hflag!("retained", "Publish as a retained message.", Mqtt, retained),
];

const SNMPTRAP_PROPS: &[PropDef] = &[hprop!(
    "data",
    "Add a data item: OID, net-snmp type letter and value template.",
    params!(["oid" String, "type" String, "value" String] []),
    SnmpTrap,
    |h, a| {
        h.data.push(SnmpData {
            oid: string(a, 0)?,
            type_: string(a, 1)?,
            value: string(a, 2)?,
        });
    }
)];

const KAFKA_PROPS: &[PropDef] = &[
    hstr!("cluster", "Configured Kafka cluster.", Kafka, cluster),
    hstr!("kafkaTopic", "Kafka topic.", Kafka, kafka_topic),
    hstr!("template", "Message template.", Kafka, template),
    hflag!(
        "disablePartitionById",
        "Do not partition by alert id.",
        Kafka,
        disable_partition_by_id
    ),
    hstr!(
        "partitionHashAlgorithm",
        "Partition hash algorithm (crc32, murmur2, fnv-1a).",
        Kafka,
        partition_hash_algorithm
    ),
];

const TEAMS_PROPS: &[PropDef] = &[hstr!(
    "channelURL",
    "Teams channel webhook URL.",
    Teams,
    channel_url
)];

const SERVICENOW_PROPS: &[PropDef] = &[
    hstr!("uRL", "ServiceNow events URL.", ServiceNow, url),
    hstr!("username", "ServiceNow user.", ServiceNow, username),
    hstr!("password", "ServiceNow password.", ServiceNow, password),
    hstr!("source", "Event source.", ServiceNow, source),
    hstr!("node", "Node template.", ServiceNow, node),
    hstr!("type", "Type template.", ServiceNow, type_),
    hstr!("resource", "Resource template.", ServiceNow, resource),
    hstr!(
        "metricName",
        "Metric name template.",
        ServiceNow,
        metric_name
    ),
    hstr!(
        "messageKey",
        "Message key template.",
        ServiceNow,
        message_key
    ),
    hkv!(
        "additionalInfo",
        "Add additional information.",
        ServiceNow,
        additional_info
    ),
];

const ZENOSS_PROPS: &[PropDef] = &[
    hstr!("uRL", "Zenoss router URL.", Zenoss, url),
    hstr!("username", "Zenoss user.", Zenoss, username),
    hstr!("password", "Zenoss password.", Zenoss, password),
    hstr!("action", "Router action.", Zenoss, action),
    hstr!("method", "Router method.", Zenoss, method),
    hstr!("type", "Event type.", Zenoss, type_),
    hprop!(
        "tid",
        "Transaction id.",
        params!(["tid" Int] []),
        Zenoss,
        |h, a| {
            h.tid = int(a, 0)?;
        }
    ),
    hstr!("collector", "Collector name.", Zenoss, collector),
    hstr!("summary", "Summary template.", Zenoss, summary),
    hstr!("device", "Device template.", Zenoss, device),
    hstr!("component", "Component template.", Zenoss, component),
    hstr!(
        "eventClassKey",
        "Event class key template.",
        Zenoss,
        event_class_key
    ),
    hstr!("eventClass", "Event class template.", Zenoss, event_class),
    hstr!("message", "Message template.", Zenoss, message),
    hkv!("customField", "Add a custom field.", Zenoss, custom_fields),
];

/// Sets one of the alert's lambda slots.
macro_rules! level {
    ($name:literal, $doc:literal, $field:ident) => {
        prop!($name, $doc, params!(["lambda" Lambda] []), Alert, |s, a| {
            s.$field = Some(lambda(a, 0)?);
        })
    };
}

/// Sets one of the alert's optional templates.
macro_rules! template {
    ($name:literal, $doc:literal, $field:ident) => {
        prop!($name, $doc, params!([$name String] []), Alert, |s, a| {
            s.$field = Some(string(a, 0)?);
        })
    };
}

/// The alert node's own properties and handler methods (also those of `deadman`).
const ALERT_PROPS: &[PropDef] = &[
    str_prop!("topic", "Publish events to this topic.", Alert, topic),
    template!(
        "id",
        "Event id template (default `{{ .Name }}:{{ .Group }}`).",
        id
    ),
    template!(
        "message",
        "Message template (default `{{ .ID }} is {{ .Level }}`).",
        message
    ),
    template!(
        "details",
        "Details template, HTML (default `{{ json . }}`).",
        details
    ),
    level!("info", "Condition for the INFO level.", info),
    level!("warn", "Condition for the WARNING level.", warn),
    level!("crit", "Condition for the CRITICAL level.", crit),
    level!(
        "infoReset",
        "Once at INFO, stay there until this is true.",
        info_reset
    ),
    level!(
        "warnReset",
        "Once at WARNING, stay there until this is true.",
        warn_reset
    ),
    level!(
        "critReset",
        "Once at CRITICAL, stay there until this is true.",
        crit_reset
    ),
    prop!(
        "stateChangesOnly",
        "Only send events when the level changes (or when maxInterval has elapsed).",
        params!([] ["maxInterval" Duration]),
        Alert,
        |s, a| {
            s.state_changes_only = true;
            if !a.is_empty() {
                s.state_changes_only_max_interval = dur(a, 0)?;
            }
        }
    ),
    prop!(
        "flapping",
        "Suppress events while the alert flaps (thresholds between 0 and 1).",
        params!(["low" Float, "high" Float] []),
        Alert,
        |s, a| {
            s.flapping = Some(Flapping {
                low: float(a, 0)?,
                high: float(a, 1)?,
            });
        }
    ),
    int_prop!(
        "history",
        "Number of states kept for flapping detection (default 21, min 2).",
        Alert,
        history
    ),
    flag_prop!(
        "noRecoveries",
        "Do not send OK (recovery) events.",
        Alert,
        no_recoveries
    ),
    flag_prop!(
        "all",
        "Batches: only trigger a level if every point matches it.",
        Alert,
        all
    ),
    str_prop!(
        "levelTag",
        "Tag receiving the level on forwarded data.",
        Alert,
        level_tag
    ),
    str_prop!(
        "levelField",
        "Field receiving the level on forwarded data.",
        Alert,
        level_field
    ),
    str_prop!(
        "messageField",
        "Field receiving the message on forwarded data.",
        Alert,
        message_field
    ),
    str_prop!(
        "durationField",
        "Field receiving the alert duration on forwarded data.",
        Alert,
        duration_field
    ),
    str_prop!(
        "idTag",
        "Tag receiving the event id on forwarded data.",
        Alert,
        id_tag
    ),
    str_prop!(
        "idField",
        "Field receiving the event id on forwarded data.",
        Alert,
        id_field
    ),
    str_prop!(
        "category",
        "Category of the alert, for inhibition.",
        Alert,
        category
    ),
    prop!(
        "inhibit",
        "Suppress alerts of a category with equal tag values while this alert is not OK.",
        params!(["category" String] [] "tag" String),
        Alert,
        |s, a| {
            s.inhibitors.push(Inhibitor {
                category: string(a, 0)?,
                equal_tags: strings(a, 1)?,
            });
        }
    ),
    QUIET,
    handler!(
        "post",
        "POST the event JSON to a URL or endpoint.",
        params!([] ["url" String]),
        POST_PROPS,
        |a| {
            HandlerSpec::Post(PostHandler {
                url: if a.is_empty() {
                    String::new()
                } else {
                    string(a, 0)?
                },
                ..PostHandler::default()
            })
        }
    ),
    handler!(
        "tcp",
        "Send the event JSON over TCP.",
        params!(["address" String] []),
        TCP_PROPS,
        |a| {
            HandlerSpec::Tcp(TcpHandler {
                address: string(a, 0)?,
            })
        }
    ),
    handler!(
        "email",
        "Send an email (SMTP).",
        params!([] [] "to" String),
        EMAIL_PROPS,
        |a| {
            HandlerSpec::Email(EmailHandler {
                to: strings(a, 0)?,
                to_templates: Vec::new(),
            })
        }
    ),
    handler!(
        "exec",
        "Run a program with the event JSON on stdin.",
        params!(["program" String] [] "arg" String),
        EXEC_PROPS,
        |a| {
            let mut command = vec![string(a, 0)?];
            command.extend(strings(a, 1)?);
            HandlerSpec::Exec(ExecHandler { command })
        }
    ),
    handler!(
        "log",
        "Append the event JSON to a file (absolute path).",
        params!(["path" String] []),
        LOG_PROPS,
        |a| {
            HandlerSpec::Log(LogHandler {
                file_path: string(a, 0)?,
                ..LogHandler::default()
            })
        }
    ),
    handler!(
        "victorOps",
        "Send to VictorOps.",
        Params::NONE,
        VICTOROPS_PROPS,
        |a| { HandlerSpec::VictorOps(VictorOpsHandler::default()) }
    ),
    handler!(
        "pagerDuty",
        "Send to PagerDuty (Events API v1).",
        Params::NONE,
        PAGERDUTY_PROPS,
        |a| { HandlerSpec::PagerDuty(PagerDutyHandler::default()) }
    ),
    handler!(
        "pagerDuty2",
        "Send to PagerDuty (Events API v2).",
        Params::NONE,
        PAGERDUTY2_PROPS,
        |a| { HandlerSpec::PagerDuty2(PagerDuty2Handler::default()) }
    ),
    handler!(
        "pushover",
        "Send to Pushover.",
        Params::NONE,
        PUSHOVER_PROPS,
        |a| { HandlerSpec::Pushover(PushoverHandler::default()) }
    ),
    handler!("sensu", "Send to Sensu.", Params::NONE, SENSU_PROPS, |a| {
        HandlerSpec::Sensu(SensuHandler::default())
    }),
    handler!("slack", "Send to Slack.", Params::NONE, SLACK_PROPS, |a| {
        HandlerSpec::Slack(SlackHandler::default())
    }),
    handler!(
        "discord",
        "Send to Discord.",
        Params::NONE,
        DISCORD_PROPS,
        |a| { HandlerSpec::Discord(DiscordHandler::default()) }
    ),
    handler!(
        "bigPanda",
        "Send to BigPanda.",
        Params::NONE,
        BIGPANDA_PROPS,
        |a| { HandlerSpec::BigPanda(BigPandaHandler::default()) }
    ),
    handler!(
        "telegram",
        "Send to Telegram.",
        Params::NONE,
        TELEGRAM_PROPS,
        |a| { HandlerSpec::Telegram(TelegramHandler::default()) }
    ),
    handler!(
        "hipChat",
        "Send to HipChat (legacy).",
        Params::NONE,
        HIPCHAT_PROPS,
        |a| { HandlerSpec::HipChat(HipChatHandler::default()) }
    ),
    handler!(
        "alerta",
        "Send to Alerta.",
        Params::NONE,
        ALERTA_PROPS,
        |a| { HandlerSpec::Alerta(AlertaHandler::default()) }
    ),
    handler!(
        "opsGenie",
        "Send to OpsGenie (API v1).",
        Params::NONE,
        OPSGENIE_PROPS,
        |a| { HandlerSpec::OpsGenie(OpsGenieHandler::default()) }
    ),
    handler!(
        "opsGenie2",
        "Send to OpsGenie (API v2).",
        Params::NONE,
        OPSGENIE2_PROPS,
        |a| { HandlerSpec::OpsGenie2(OpsGenie2Handler::default()) }
    ),
    handler!("talk", "Send to Talk.", Params::NONE, TALK_PROPS, |a| {
        HandlerSpec::Talk(TalkHandler::default())
    }),
    handler!(
        "mqtt",
        "Publish to an MQTT topic.",
        params!(["topic" String] []),
        MQTT_PROPS,
        |a| {
            HandlerSpec::Mqtt(MqttHandler {
                topic: string(a, 0)?,
                ..MqttHandler::default()
            })
        }
    ),
    handler!(
        "snmpTrap",
        "Send an SNMP trap.",
        params!(["trapOid" String] []),
        SNMPTRAP_PROPS,
        |a| {
            HandlerSpec::SnmpTrap(SnmpTrapHandler {
                trap_oid: string(a, 0)?,
                data: Vec::new(),
            })
        }
    ),
    handler!("kafka", "Send to Kafka.", Params::NONE, KAFKA_PROPS, |a| {
        HandlerSpec::Kafka(KafkaHandler::default())
    }),
    handler!(
        "teams",
        "Send to Microsoft Teams.",
        Params::NONE,
        TEAMS_PROPS,
        |a| { HandlerSpec::Teams(TeamsHandler::default()) }
    ),
    handler!(
        "serviceNow",
        "Send to ServiceNow.",
        Params::NONE,
        SERVICENOW_PROPS,
        |a| { HandlerSpec::ServiceNow(ServiceNowHandler::default()) }
    ),
    handler!(
        "zenoss",
        "Send to Zenoss.",
        Params::NONE,
        ZENOSS_PROPS,
        |a| { HandlerSpec::Zenoss(ZenossHandler::default()) }
    ),
];

/// SNMP data type letters accepted by `.data(oid, type, value)` (net-snmp's).
const SNMP_TYPES: &[&str] = &["a", "c", "d", "i", "n", "o", "s", "t", "u", "x"];

fn validate_handler(h: &HandlerSpec) -> Result<(), String> {
    match h {
        HandlerSpec::Post(p) => {
            if p.timeout < 0 {
                return Err("post timeout must be positive".into());
            }
            super::outputs::check_headers(&p.headers)
        }
        HandlerSpec::Log(l) => {
            if !l.file_path.starts_with('/') {
                return Err(format!(
                    "log path must be absolute: {} is not absolute",
                    l.file_path
                ));
            }
            Ok(())
        }
        HandlerSpec::Telegram(t) => {
            let m = t.parse_mode.to_ascii_lowercase();
            if !t.parse_mode.is_empty() && m != "markdown" && m != "html" {
                return Err(format!(
                    "parseMode {} is not valid, use 'Markdown' or 'HTML'",
                    t.parse_mode
                ));
            }
            Ok(())
        }
        HandlerSpec::Mqtt(m) if !(0..=2).contains(&m.qos) => {
            Err(format!("invalid mqtt qos {}: must be 0, 1 or 2", m.qos))
        }
        HandlerSpec::SnmpTrap(s) => {
            if s.data.is_empty() {
                return Err(format!(
                    "invalid SNMP trap {:?}: you must supply at least one data item",
                    s.trap_oid
                ));
            }
            for d in &s.data {
                if !SNMP_TYPES.contains(&d.type_.as_str()) {
                    return Err(format!(
                        "invalid SNMP trap {:?}: unsupported data type {:?}",
                        s.trap_oid, d.type_
                    ));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn validate_alert(spec: &NodeSpec) -> Result<(), String> {
    let NodeSpec::Alert(s) = spec else {
        return Ok(());
    };
    if let Some(f) = s.flapping
        && !((0.0..=1.0).contains(&f.low) && (0.0..=1.0).contains(&f.high))
    {
        return Err("alert flap thresholds are percentages and should be between 0 and 1".into());
    }
    if s.state_changes_only_max_interval < 0 {
        return Err("stateChangesOnly max interval must be positive".into());
    }
    for i in &s.inhibitors {
        if i.category.is_empty() {
            return Err("inhibit category must not be empty".into());
        }
    }
    s.handlers.iter().try_for_each(validate_handler)
}

pub(super) const ALERT: NodeDef = NodeDef {
    name: "alert",
    desc: "alert",
    doc: "Evaluates alert levels for every point or batch and sends events to topics and \
          handlers; data is passed on (possibly annotated).",
    wants: Wants::Any,
    provides: Provides::Same,
    params: Params::NONE,
    props: ALERT_PROPS,
    build: |_| Ok(NodeSpec::Alert(AlertSpec::default())),
    validate: validate_alert,
    special: Special::None,
};

/// `"emitted" <= threshold AND lambda...`: the deadman's critical condition.
pub(crate) fn deadman_crit(threshold: f64, extra: Vec<Expr>) -> Expr {
    let base = Expr::Binary(
        BinaryOp::LessEq,
        Box::new(Expr::Ref("emitted".into())),
        Box::new(Expr::Float(threshold)),
    );
    extra.into_iter().fold(base, and)
}

pub(super) const DEADMAN: NodeDef = NodeDef {
    name: "deadman",
    desc: "deadman",
    doc: "Alert when the node's throughput drops to the threshold or below: sugar for \
          `|stats(interval)|derivative('emitted').unit(interval).nonNegative()|alert()` with \
          `.crit(lambda: \"emitted\" <= threshold AND lambdas...)`. Produces no node of its \
          own and returns the alert node.",
    wants: Wants::Any,
    provides: Provides::Stream,
    params: params!(["threshold" Float, "interval" Duration] [] "lambda" Lambda),
    props: ALERT_PROPS,
    build: |a| {
        let crit = deadman_crit(float(a, 0)?, lambdas(a, 2)?);
        let _ = dur(a, 1)?;
        Ok(NodeSpec::Alert(AlertSpec {
            crit: Some(crit),
            ..AlertSpec::default()
        }))
    },
    validate: validate_alert,
    special: Special::Deadman,
};
