use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use serde_json::json;

use super::*;
use crate::cluster::{Bind, Listen, ListenSource, Socket};
use crate::manifest::{LoadOptions, load_str};
use crate::net::Protocol;
use crate::objects::Object;

fn container(v: serde_json::Value) -> Container {
    let mut v = v;
    if v.get("name").is_none() {
        v["name"] = json!("c");
    }
    serde_json::from_value(v).expect("container json")
}

fn no_annotations() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn sock(bind: Bind, port: u16, protocol: Protocol) -> Socket {
    Socket {
        bind,
        port,
        protocol,
    }
}

fn tcp(port: u16) -> Socket {
    sock(Bind::Any, port, Protocol::Tcp)
}

fn udp(port: u16) -> Socket {
    sock(Bind::Any, port, Protocol::Udp)
}

/// Sockets in the order [`listen`] returns them.
fn sorted(mut v: Vec<Socket>) -> Vec<Socket> {
    v.sort();
    v
}

fn lo(port: u16) -> Socket {
    sock(Bind::Loopback, port, Protocol::Tcp)
}

/// The sockets of an image with these args (and env), and the source's detail.
fn image(image: &str, args: &[&str]) -> (Vec<Socket>, String) {
    image_env(image, args, json!([]))
}

fn image_env(image: &str, args: &[&str], env: serde_json::Value) -> (Vec<Socket>, String) {
    let c = container(json!({"image": image, "args": args, "env": env}));
    let l = listen(&c, &no_annotations(), 0);
    match l.source {
        ListenSource::Image { image: i, detail } => {
            assert_eq!(i, image);
            (l.sockets, detail)
        }
        other => panic!("{image} {args:?}: not from the table: {other:?}"),
    }
}

#[test]
fn table_defaults() {
    for (img, want) in [
        ("nginx", vec![tcp(80)]),
        ("docker.io/library/nginx:1.27", vec![tcp(80)]),
        ("nginx@sha256:0123456789abcdef", vec![tcp(80)]),
        ("registry.k8s.io/nginx-slim:0.7", vec![tcp(80)]),
        ("nginxinc/nginx-unprivileged:stable", vec![tcp(8080)]),
        ("bitnami/nginx:1.25", vec![tcp(8080)]),
        ("httpd:2.4", vec![tcp(80)]),
        ("caddy:2", vec![tcp(80), lo(2019)]),
        ("redis:alpine", vec![tcp(6379)]),
        ("registry.k8s.io/redis:e2e", vec![tcp(6379)]),
        ("postgres:15-alpine", vec![tcp(5432)]),
        ("mysql:8.4", vec![tcp(3306), tcp(33060)]),
        ("mysql:5.7", vec![tcp(3306)]),
        ("mariadb:11", vec![tcp(3306)]),
        ("mongo", vec![tcp(27017)]),
        ("memcached:1.6", vec![tcp(11211)]),
        ("rabbitmq:3", vec![tcp(4369), tcp(5672), tcp(25672)]),
        (
            "rabbitmq:3.6.8-management",
            vec![tcp(4369), tcp(5672), tcp(15672), tcp(25672)],
        ),
        (
            "registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:594c",
            vec![tcp(80), tcp(443), tcp(10254)],
        ),
        (
            "registry.k8s.io/coredns/coredns:v1.11.1",
            vec![udp(53), tcp(53), tcp(8080), tcp(8181), tcp(9153)],
        ),
        ("hashicorp/http-echo", vec![tcp(5678)]),
        ("traefik/whoami", vec![tcp(80)]),
        (
            "registry.k8s.io/echoserver:1.10",
            vec![tcp(8080), tcp(8443)],
        ),
        ("k8s.gcr.io/echoserver:1.4", vec![tcp(8080), tcp(8443)]),
        (
            "registry.k8s.io/e2e-test-images/echoserver:2.3",
            vec![tcp(8080), tcp(8443)],
        ),
        ("gcr.io/google-samples/hello-app:2.0", vec![tcp(8080)]),
        (
            "us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0",
            vec![tcp(8080)],
        ),
        ("mccutchen/go-httpbin", vec![tcp(8080)]),
        ("luksa/kubia", vec![tcp(8080)]),
        ("prom/prometheus:v2.26.0", vec![tcp(9090)]),
        ("quay.io/prometheus/node-exporter:v1.1.2", vec![tcp(9100)]),
        ("registry.k8s.io/pause:3.9", vec![]),
        ("busybox", vec![]),
        ("alpine:latest", vec![]),
        ("docker.io/curlimages/curl:8.18.0", vec![]),
        ("nicolaka/netshoot", vec![]),
        ("ubuntu:24.04", vec![]),
        ("debian", vec![]),
    ] {
        let (got, detail) = image(img, &[]);
        let mut want = want;
        want.sort();
        assert_eq!(got, want, "{img}: {detail}");
        assert!(!detail.is_empty(), "{img}");
    }
    let (_, detail) = image("nginx", &[]);
    assert_eq!(detail, "nginx listens on 80/TCP");
}

#[test]
fn table_flags() {
    // redis
    assert_eq!(image("redis", &["--port", "6380"]).0, [tcp(6380)]);
    assert_eq!(
        image("redis", &["redis-server", "--bind", "127.0.0.1", "-::1"]).0,
        [lo(6379)]
    );
    assert_eq!(
        image("redis", &["--bind", "0.0.0.0", "--port", "7000"]).0,
        [tcp(7000)]
    );
    // postgres
    assert_eq!(image("postgres", &["-p", "5433"]).0, [tcp(5433)]);
    assert_eq!(image("postgres", &["-c", "port=5434"]).0, [tcp(5434)]);
    assert_eq!(
        image("postgres", &["-c", "listen_addresses=localhost"]).0,
        [lo(5432)]
    );
    assert_eq!(
        image_env(
            "postgres",
            &[],
            json!([{"name": "PGPORT", "value": "6000"}])
        )
        .0,
        [tcp(6000)]
    );
    // mysql / mariadb
    assert_eq!(
        image("mysql:8", &["--port=3307", "--mysqlx=OFF"]).0,
        [tcp(3307)]
    );
    assert_eq!(
        image("mariadb", &["--bind-address=127.0.0.1"]).0,
        [lo(3306)]
    );
    // mongo
    assert_eq!(image("mongo", &["--port", "27018"]).0, [tcp(27018)]);
    assert_eq!(image("mongo", &["--bind_ip", "127.0.0.1"]).0, [lo(27017)]);
    assert_eq!(
        image("mongo", &["--bind_ip", "localhost", "--bind_ip_all"]).0,
        [tcp(27017)]
    );
    assert_eq!(image("mongo", &["--configsvr"]).0, [tcp(27019)]);
    // memcached
    assert_eq!(image("memcached", &["-p", "11212"]).0, [tcp(11212)]);
    assert_eq!(
        image("memcached", &["-l", "127.0.0.1", "-U", "11211"]).0,
        [lo(11211), sock(Bind::Loopback, 11211, Protocol::Udp)]
    );
    // rabbitmq
    assert_eq!(
        image_env(
            "rabbitmq",
            &[],
            json!([{"name": "RABBITMQ_NODE_PORT", "value": "5673"}])
        )
        .0,
        [tcp(4369), tcp(5673), tcp(25673)]
    );
    // ingress-nginx
    assert_eq!(
        image(
            "registry.k8s.io/ingress-nginx/controller:v1.15.1",
            &[
                "/nginx-ingress-controller",
                "--validating-webhook=:8443",
                "--http-port=8080"
            ]
        )
        .0,
        [tcp(443), tcp(8080), tcp(8443), tcp(10254)]
    );
    // coredns
    assert_eq!(
        image(
            "coredns/coredns",
            &["-conf", "/etc/Corefile", "-dns.port=1053"]
        )
        .0,
        [tcp(1053), udp(1053), tcp(8080), tcp(8181), tcp(9153)]
    );
    // http-echo
    assert_eq!(
        image(
            "hashicorp/http-echo",
            &["-listen=:8080", "-text=hello world"]
        )
        .0,
        [tcp(8080)]
    );
    assert_eq!(
        image("hashicorp/http-echo", &["-listen=127.0.0.1:5678"]).0,
        [lo(5678)]
    );
    assert_eq!(
        image("hashicorp/http-echo", &["-listen", ":9000"]).0,
        [tcp(9000)]
    );
    // whoami
    assert_eq!(image("traefik/whoami", &["--port", "8080"]).0, [tcp(8080)]);
    assert_eq!(image("traefik/whoami", &["--port=8081"]).0, [tcp(8081)]);
    // hello-app reads PORT
    assert_eq!(
        image_env(
            "gcr.io/google-samples/hello-app:1.0",
            &[],
            json!([{"name": "PORT", "value": "9000"}])
        )
        .0,
        [tcp(9000)]
    );
    // $(VAR) expansion by the kubelet
    assert_eq!(
        image_env(
            "traefik/whoami",
            &["--port=$(WHOAMI)"],
            json!([{"name": "WHOAMI", "value": "7777"}])
        )
        .0,
        [tcp(7777)]
    );
    // Flags that do not parse leave the default.
    assert_eq!(image("redis", &["--port", "many"]).0, [tcp(6379)]);
}

#[test]
fn agnhost_subcommands() {
    let ag = "registry.k8s.io/e2e-test-images/agnhost:2.39";
    assert_eq!(image(ag, &["netexec"]).0, [tcp(8080), udp(8081)]);
    assert_eq!(
        image(ag, &["netexec", "--http-port=9000", "--udp-port=-1"]).0,
        [tcp(9000)]
    );
    assert_eq!(
        image(ag, &["netexec", "--http-port", "80", "--udp-port", "90"]).0,
        [tcp(80), udp(90)]
    );
    assert_eq!(image(ag, &["serve-hostname"]).0, [tcp(9376)]);
    assert_eq!(
        image(
            ag,
            &["serve-hostname", "--udp", "--http=false", "--port", "9377"]
        )
        .0,
        [udp(9377)]
    );
    assert_eq!(image(ag, &["pause"]).0, []);
    assert_eq!(image(ag, &["test-webserver"]).0, [tcp(80)]);
    assert_eq!(
        image_env(
            ag,
            &["porter"],
            json!([{"name": "SERVE_PORT_8080", "value": "foo"}, {"name": "SERVE_PORT_9090", "value": "bar"}])
        )
        .0,
        [tcp(8080), tcp(9090)]
    );
    // Through `command`.
    let c = container(json!({"image": ag, "command": ["/agnhost", "netexec", "--http-port=8888"]}));
    assert_eq!(
        listen(&c, &no_annotations(), 0).sockets,
        sorted(vec![tcp(8888), udp(8081)])
    );
    // An unknown subcommand falls back to the declared ports.
    let c =
        container(json!({"image": ag, "args": ["dns-suffix"], "ports": [{"containerPort": 5000}]}));
    let l = listen(&c, &no_annotations(), 0);
    assert_eq!(l.source, ListenSource::Declared);
    assert_eq!(l.sockets, [tcp(5000)]);
}

#[test]
fn general_purpose_images_run_servers_from_their_command() {
    let c = container(json!({
        "image": "busybox",
        "command": ["sh", "-c", "while true; do echo hi | nc -l -p 8080; done"],
    }));
    let l = listen(&c, &no_annotations(), 0);
    assert_eq!(l.sockets, [tcp(8080)]);
    let c = container(json!({"image": "busybox:1.36", "command": ["httpd", "-f", "-p", "8000"]}));
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [tcp(8000)]);
    let c = container(json!({"image": "busybox", "args": ["httpd", "-f"]}));
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [tcp(80)]);
    let c = container(
        json!({"image": "python:3.12", "command": ["python", "-m", "http.server", "8081"]}),
    );
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [tcp(8081)]);
    let c = container(json!({"image": "alpine", "command": ["python3", "-m", "http.server"]}));
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [tcp(8000)]);

    // `sleep` serves nothing, whatever the manifest declares.
    let c = container(json!({
        "image": "busybox",
        "command": ["sleep", "3600"],
        "ports": [{"containerPort": 80}],
    }));
    let l = listen(&c, &no_annotations(), 0);
    assert_eq!(l.sockets, []);
    let ListenSource::Image { detail, .. } = &l.source else {
        panic!("{l:?}")
    };
    assert!(detail.contains("documentation only"), "{detail}");

    // An unknown program may serve: its declared ports are trusted.
    let c = container(json!({
        "image": "alpine",
        "command": ["/app/server"],
        "ports": [{"containerPort": 9000}],
    }));
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [tcp(9000)]);
}

fn detail_of(l: &Listen) -> &str {
    match &l.source {
        ListenSource::Image { detail, .. } => detail,
        other => panic!("not from the table: {other:?}"),
    }
}

#[test]
fn stock_nginx_declaring_8080_still_serves_80_the_container_port_myth() {
    let c = container(json!({"image": "nginx:1.27", "ports": [{"containerPort": 8080}]}));
    let l = listen(&c, &no_annotations(), 0);
    assert_eq!(l.sockets, [tcp(80)]);
    assert!(l.assumed.is_empty());
    let d = detail_of(&l);
    assert!(
        d.contains("8080/TCP is not listened on: containerPort is documentation"),
        "{d}"
    );
    assert!(d.contains("a volume at /etc/nginx/nginx.conf"), "{d}");
    // A volume that is not its configuration (the site's files) changes nothing.
    let c = container(json!({
        "image": "nginx",
        "ports": [{"containerPort": 8080}],
        "volumeMounts": [{"name": "html", "mountPath": "/usr/share/nginx/html"}],
    }));
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [tcp(80)]);
}

#[test]
fn a_changed_configuration_makes_the_declared_port_an_assumption() {
    // The docker-library nginx README's ways to change the config: conf.d, the whole
    // nginx.conf (subPath), templates; or the directory above them.
    for mount in [
        "/etc/nginx/conf.d",
        "/etc/nginx/conf.d/",
        "/etc/nginx/conf.d/default.conf",
        "/etc/nginx/nginx.conf",
        "/etc/nginx/templates",
        "/etc/nginx",
    ] {
        let c = container(json!({
            "image": "nginx",
            "ports": [{"containerPort": 8080}],
            "volumeMounts": [{"name": "conf", "mountPath": mount}],
        }));
        let l = listen(&c, &no_annotations(), 0);
        assert_eq!(l.sockets, [tcp(80), tcp(8080)], "{mount}");
        assert_eq!(l.assumed, [tcp(8080)], "{mount}");
        let d = detail_of(&l);
        assert!(
            d.contains(
                "declared containerPort 8080/TCP assumed to be listening: a volume is mounted at"
            ),
            "{mount}: {d}"
        );
    }
    // A command the table does not read.
    let c = container(json!({
        "image": "nginx",
        "command": ["sh", "-c", "envsubst < /t > /etc/nginx/conf.d/default.conf && nginx -g 'daemon off;'"],
        "ports": [{"containerPort": 8080}],
    }));
    let l = listen(&c, &no_annotations(), 0);
    assert_eq!(l.sockets, [tcp(80), tcp(8080)]);
    assert!(
        detail_of(&l).contains("overrides the image's command"),
        "{l:?}"
    );
    // An environment variable the image reads (Grafana's GF_*), or envFrom.
    for (env, env_from) in [
        (
            json!([{"name": "GF_SERVER_ROOT_URL", "value": "/g"}]),
            json!([]),
        ),
        (json!([]), json!([{"configMapRef": {"name": "grafana"}}])),
    ] {
        let c = container(json!({
            "image": "grafana/grafana:11.0.0",
            "env": env,
            "envFrom": env_from,
            "ports": [{"containerPort": 3001}],
        }));
        assert_eq!(
            listen(&c, &no_annotations(), 0).sockets,
            [tcp(3000), tcp(3001)]
        );
    }
    // Args the table reads whole are no evidence: http-echo's -text moves nothing.
    let c = container(json!({
        "image": "hashicorp/http-echo",
        "args": ["-text=hello"],
        "ports": [{"containerPort": 8080}],
    }));
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [tcp(5678)]);
}

#[test]
fn stale_and_moved_ports() {
    // redis told to move to 6380 while the manifest still declares 6379: stale.
    let c = container(json!({
        "image": "redis",
        "args": ["--port", "6380"],
        "ports": [{"containerPort": 6379}],
    }));
    let l = listen(&c, &no_annotations(), 0);
    assert_eq!(l.sockets, [tcp(6380)]);
    let ListenSource::Image { detail, .. } = &l.source else {
        panic!("{l:?}")
    };
    assert!(detail.contains("6379/TCP is not listened on"), "{detail}");
    // http-echo on :8080 declaring 5678.
    let c = container(json!({
        "image": "hashicorp/http-echo",
        "args": ["-listen=:8080"],
        "ports": [{"containerPort": 5678}],
    }));
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [tcp(8080)]);
    // A loopback bind is not widened by a declared port of the same number.
    let c = container(json!({
        "image": "redis",
        "args": ["--bind", "127.0.0.1"],
        "ports": [{"containerPort": 6379}],
    }));
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [lo(6379)]);
}

#[test]
fn annotation_syntax() {
    assert_eq!(
        parse_listen_annotation("8080,127.0.0.1:9090,53/udp"),
        Ok(sorted(vec![tcp(8080), udp(53), lo(9090)]))
    );
    assert_eq!(
        parse_listen_annotation(" 0.0.0.0:80/TCP , localhost:81 , 10.0.0.5:82/sctp, [::]:83,"),
        Ok(sorted(vec![
            tcp(80),
            tcp(83),
            lo(81),
            sock(Bind::Ip(Ipv4Addr::new(10, 0, 0, 5)), 82, Protocol::Sctp),
        ]))
    );
    assert_eq!(parse_listen_annotation(""), Ok(vec![]));
    let e = parse_listen_annotation("80,http,0,70000,80/icmp,web:80").unwrap_err();
    for want in ["`http`", "`0`", "`70000`", "`icmp`", "`web`"] {
        assert!(e.contains(want), "{e}");
    }
    // What parses is kept.
    let mut ann = BTreeMap::new();
    ann.insert(ANNOTATION.to_string(), "80,http".to_string());
    let c = container(json!({"image": "redis"}));
    let l = listen(&c, &ann, 0);
    assert_eq!(l.source, ListenSource::Annotation);
    assert_eq!(l.sockets, [tcp(80)]);
}

#[test]
fn annotation_precedence_and_per_container_keys() {
    let mut ann = BTreeMap::new();
    ann.insert("simctl/listen".to_string(), "9999".to_string());
    ann.insert(
        "simctl/listen.sidecar".to_string(),
        "127.0.0.1:15000".to_string(),
    );
    let app = container(json!({"name": "app", "image": "nginx", "ports": [{"containerPort": 80}]}));
    let sidecar = container(json!({"name": "sidecar", "image": "unknown/proxy"}));
    let other = container(json!({"name": "other", "image": "nginx"}));
    // The plain key: container 0 only, over the image table.
    let l = listen(&app, &ann, 0);
    assert_eq!(
        (l.sockets, l.source),
        (vec![tcp(9999)], ListenSource::Annotation)
    );
    // The per-container key, at any index.
    let l = listen(&sidecar, &ann, 1);
    assert_eq!(
        (l.sockets, l.source),
        (vec![lo(15000)], ListenSource::Annotation)
    );
    // Others: their own image.
    assert_eq!(listen(&other, &ann, 2).sockets, [tcp(80)]);
    // The per-container key wins over the plain one for container 0.
    ann.insert("simctl/listen.app".to_string(), "81".to_string());
    assert_eq!(listen(&app, &ann, 0).sockets, [tcp(81)]);
    // An empty annotation: listens on nothing.
    let mut ann = BTreeMap::new();
    ann.insert("simctl/listen".to_string(), String::new());
    let l = listen(&app, &ann, 0);
    assert_eq!((l.sockets, l.source), (vec![], ListenSource::Annotation));
    assert!(!l_accepts_anything(&listen(&app, &ann, 0)));
}

fn l_accepts_anything(l: &crate::cluster::Listen) -> bool {
    l.accepts(Ipv4Addr::new(10, 244, 0, 5), 80, Protocol::Tcp, false)
}

#[test]
fn declared_and_probes_for_unknown_images() {
    let c = container(json!({
        "image": "example.com/team/app:v1",
        "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 5353, "protocol": "UDP"}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
        "livenessProbe": {"tcpSocket": {"port": 8081}},
        "startupProbe": {"grpc": {"port": 9090}},
    }));
    let l = listen(&c, &no_annotations(), 0);
    assert_eq!(l.source, ListenSource::Declared);
    assert_eq!(
        l.sockets,
        sorted(vec![tcp(8080), tcp(8081), tcp(9090), udp(5353)])
    );
    assert_eq!(readiness_port(&c), Some(8080));
    // Probes alone.
    let c = container(json!({
        "image": "example.com/app",
        "livenessProbe": {"httpGet": {"port": 3000}},
    }));
    assert_eq!(listen(&c, &no_annotations(), 0).sockets, [tcp(3000)]);
    assert_eq!(readiness_port(&c), None);
}

#[test]
fn unknown_image_without_ports_is_assumed() {
    let c = container(json!({"image": "example.com/app"}));
    let l = listen(&c, &no_annotations(), 0);
    assert_eq!(l.source, ListenSource::Assumed);
    assert!(l.sockets.is_empty());
    assert!(l_accepts_anything(&l));
    // No image at all.
    let c = container(json!({}));
    assert_eq!(
        listen(&c, &no_annotations(), 0).source,
        ListenSource::Assumed
    );
}

#[test]
fn readiness_ports() {
    let c = container(json!({
        "ports": [{"containerPort": 8080, "name": "web"}],
        "readinessProbe": {"tcpSocket": {"port": "web"}},
    }));
    assert_eq!(readiness_port(&c), Some(8080));
    let c = container(json!({"readinessProbe": {"tcpSocket": {"port": "nope"}}}));
    assert_eq!(readiness_port(&c), None);
    let c = container(json!({"readinessProbe": {"grpc": {"port": 50051}}}));
    assert_eq!(readiness_port(&c), Some(50051));
    let c = container(json!({"readinessProbe": {"exec": {"command": ["true"]}}}));
    assert_eq!(readiness_port(&c), None);
    let c = container(json!({"readinessProbe": {"httpGet": {"port": 0}}}));
    assert_eq!(readiness_port(&c), None);
}

#[test]
fn loopback_binds_refuse_outside_traffic() {
    let c = container(json!({"image": "redis", "args": ["--bind", "127.0.0.1"]}));
    let l = listen(&c, &no_annotations(), 0);
    let pod_ip = Ipv4Addr::new(10, 244, 1, 5);
    assert!(!l.accepts(pod_ip, 6379, Protocol::Tcp, false));
    assert!(l.accepts(pod_ip, 6379, Protocol::Tcp, true));
}

// ---- The corpus: every Service targetPort of real apps is listened on. ----

/// Pods templates of one object: (namespace, labels, annotations, spec).
struct PodLike {
    file: String,
    namespace: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    spec: PodSpec,
}

fn template(file: &str, namespace: &str, t: &Option<PodTemplateSpec>, out: &mut Vec<PodLike>) {
    if let Some(t) = t {
        let meta = t.metadata.clone().unwrap_or_default();
        out.push(PodLike {
            file: file.to_string(),
            namespace: namespace.to_string(),
            labels: meta.labels.unwrap_or_default(),
            annotations: meta.annotations.unwrap_or_default(),
            spec: t.spec.clone().unwrap_or_default(),
        });
    }
}

/// The pods and the Services (with their file) of one corpus directory.
type DirObjects = (Vec<PodLike>, Vec<(String, Object)>);

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

/// Corpus Services whose targetPort nothing listens on, on purpose: (file suffix,
/// Service name, why).
const BROKEN_IN_CORPUS: &[(&str, &str, &str)] = &[
    (
        "argocd-example-apps/sync-waves/manifests.yaml",
        "backend",
        "a sync-wave ordering demo: its `backend` Service targets 8080 of stock \
         nginx:latest pods, which serve on 80; real traffic is refused too",
    ),
    (
        "kubernetes-in-action/Chapter05/kubia-svc-named-ports.yaml",
        "kubia",
        "the book's named-ports example adds `https: 443 -> 8443`, but luksa/kubia's \
         app.js only listens on 8080 (the chapter says so)",
    ),
    (
        "kubernetes-in-action/Chapter10/kubia-service-headless.yaml",
        "kubia",
        "the StatefulSet's governing headless Service, used for DNS only: its port 80 \
         is not what luksa/kubia-pet serves (8080, used through kubia-public)",
    ),
];

#[test]
fn corpus_services_reach_listening_ports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    assert!(
        root.is_dir(),
        "the corpus is missing at {} (it is always present in CI)",
        root.display()
    );
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    assert!(files.len() > 100, "only {} corpus files", files.len());

    // Group by directory: an app's Services and workloads may sit in sibling files.
    let mut by_dir: BTreeMap<PathBuf, DirObjects> = BTreeMap::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let rel = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        let (_, loaded) = load_str(&rel, &text, &LoadOptions::default());
        let entry = by_dir
            .entry(f.parent().map(Path::to_path_buf).unwrap_or_default())
            .or_default();
        for o in loaded.objects {
            let ns = o.object.namespace().unwrap_or("default").to_string();
            match &o.object {
                Object::Pod(p) => {
                    let meta = p.metadata.clone();
                    entry.0.push(PodLike {
                        file: rel.clone(),
                        namespace: ns,
                        labels: meta.labels.unwrap_or_default(),
                        annotations: meta.annotations.unwrap_or_default(),
                        spec: p.spec.clone().unwrap_or_default(),
                    });
                }
                Object::Deployment(d) => template(
                    &rel,
                    &ns,
                    &d.spec.as_ref().map(|s| s.template.clone()),
                    &mut entry.0,
                ),
                Object::StatefulSet(d) => template(
                    &rel,
                    &ns,
                    &d.spec.as_ref().map(|s| s.template.clone()),
                    &mut entry.0,
                ),
                Object::DaemonSet(d) => template(
                    &rel,
                    &ns,
                    &d.spec.as_ref().map(|s| s.template.clone()),
                    &mut entry.0,
                ),
                Object::ReplicaSet(d) => template(
                    &rel,
                    &ns,
                    &d.spec.as_ref().and_then(|s| s.template.clone()),
                    &mut entry.0,
                ),
                Object::ReplicationController(d) => template(
                    &rel,
                    &ns,
                    &d.spec.as_ref().and_then(|s| s.template.clone()),
                    &mut entry.0,
                ),
                Object::Service(_) => entry.1.push((rel.clone(), o.object.clone())),
                _ => {}
            }
        }
    }

    let pod_ip = Ipv4Addr::new(10, 244, 1, 7);
    let mut checked = 0;
    let mut by_source: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut exceptions = Vec::new();
    for (pods, services) in by_dir.values() {
        for (file, svc) in services {
            let Object::Service(svc) = svc else { continue };
            let ns = svc.metadata.namespace.as_deref().unwrap_or("default");
            let name = svc.metadata.name.as_deref().unwrap_or("");
            let Some(spec) = &svc.spec else { continue };
            let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else {
                continue;
            };
            let selects = |p: &&PodLike| {
                p.namespace == ns && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
            };
            // Pods from the Service's own file when it has some: a sibling file may hold
            // an alternative version of the same app (a tutorial's step 1 and step 2).
            let same_file: Vec<&PodLike> = pods
                .iter()
                .filter(selects)
                .filter(|p| p.file == *file)
                .collect();
            let selected: Vec<&PodLike> = if same_file.is_empty() {
                pods.iter().filter(selects).collect()
            } else {
                same_file
            };
            for pod in selected {
                let listens: Vec<Listen> = pod
                    .spec
                    .containers
                    .iter()
                    .enumerate()
                    .map(|(i, c)| listen(c, &pod.annotations, i))
                    .collect();
                for (c, l) in pod.spec.containers.iter().zip(&listens) {
                    if matches!(l.source, ListenSource::Image { .. } | ListenSource::Assumed) {
                        eprintln!(
                            "  {} {:?}: {:?} {:?}",
                            pod.file,
                            c.image,
                            l.sockets
                                .iter()
                                .map(|s| format!("{:?}:{}/{}", s.bind, s.port, s.protocol))
                                .collect::<Vec<_>>(),
                            l.source
                        );
                    }
                    *by_source
                        .entry(match l.source {
                            ListenSource::Annotation => "annotation",
                            ListenSource::Image { .. } => "image",
                            ListenSource::Declared => "declared",
                            ListenSource::Assumed => "assumed",
                        })
                        .or_default() += 1;
                }
                for sp in spec.ports.iter().flatten() {
                    let protocol = sp
                        .protocol
                        .as_deref()
                        .and_then(Protocol::parse)
                        .unwrap_or_default();
                    let target = match &sp.target_port {
                        Some(IntOrString::Int(n)) => u16::try_from(*n).ok(),
                        Some(IntOrString::String(name)) => pod
                            .spec
                            .containers
                            .iter()
                            .flat_map(|c| c.ports.iter().flatten())
                            .find(|p| {
                                p.name.as_deref() == Some(name.as_str())
                                    && p.protocol.as_deref().unwrap_or("TCP") == protocol.as_str()
                            })
                            .and_then(|p| u16::try_from(p.container_port).ok()),
                        None => u16::try_from(sp.port).ok(),
                    };
                    // A name no container declares gives no endpoint: the endpoints
                    // controller's business, not what the container listens on.
                    let Some(target) = target else { continue };
                    checked += 1;
                    if pod.spec.host_network == Some(true) {
                        // Listens on the node; still judged on the container.
                    }
                    if !listens
                        .iter()
                        .any(|l| l.accepts(pod_ip, target, protocol, false))
                    {
                        let allowed = BROKEN_IN_CORPUS
                            .iter()
                            .any(|(f, s, _)| file.ends_with(f) && *s == name);
                        if !allowed {
                            exceptions.push(format!(
                                "{file}: Service {ns}/{name} port {} -> {target}/{protocol}; \
                                 pods from {} listen on {:?}",
                                sp.port,
                                pod.file,
                                listens
                                    .iter()
                                    .map(|l| (&l.sockets, &l.source))
                                    .collect::<Vec<_>>()
                            ));
                        }
                    }
                }
            }
        }
    }
    // No false NotReady either: every readinessProbe port of every corpus pod is
    // listened on.
    let mut probes = 0;
    for (pods, _) in by_dir.values() {
        for pod in pods {
            for (i, c) in pod.spec.containers.iter().enumerate() {
                let Some(port) = readiness_port(c) else {
                    continue;
                };
                probes += 1;
                let l = listen(c, &pod.annotations, i);
                if !l.accepts(pod_ip, port, Protocol::Tcp, false) {
                    exceptions.push(format!(
                        "{}: container {} readinessProbe on {port}, listens on {:?} ({:?})",
                        pod.file, c.name, l.sockets, l.source
                    ));
                }
            }
        }
    }
    eprintln!(
        "corpus: {checked} Service targets and {probes} readiness probes checked; \
         containers by source: {by_source:?}"
    );
    exceptions.sort();
    exceptions.dedup();
    assert!(
        exceptions.is_empty(),
        "{} Service targets nothing listens on:\n{}",
        exceptions.len(),
        exceptions.join("\n")
    );
    assert!(checked > 50, "only {checked} Service targets checked");
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,12}",
            Just("--port".to_string()),
            Just("-p".to_string()),
            Just("-listen".to_string()),
            Just("nc -l -p".to_string()),
            Just("$(PORT)".to_string()),
            Just("${PORT".to_string()),
            Just("-c".to_string()),
            Just("netexec".to_string()),
            "[0-9]{1,6}",
        ]
    }

    proptest! {
        /// Any command line, image and annotation: no panic, sockets sorted and
        /// unique, and the annotation's parse agrees with what `listen` uses.
        #[test]
        fn listen_is_total(
            image in prop_oneof![
                Just("nginx".to_string()), Just("redis".to_string()), Just("busybox".to_string()),
                Just("registry.k8s.io/e2e-test-images/agnhost:2.39".to_string()),
                Just("hashicorp/http-echo".to_string()), Just("postgres".to_string()),
                Just("memcached".to_string()), Just("testing/app".to_string()),
                "[ -~]{0,30}",
            ],
            command in proptest::collection::vec(word(), 0..6),
            args in proptest::collection::vec(word(), 0..8),
            port_env in "[ -~]{0,6}",
            annotation in proptest::option::of("[ -~]{0,40}"),
        ) {
            let c = container(json!({
                "image": image,
                "command": command,
                "args": args,
                "env": [{"name": "PORT", "value": port_env}],
                "ports": [{"containerPort": 8080}],
            }));
            let mut ann = BTreeMap::new();
            if let Some(a) = &annotation {
                ann.insert(ANNOTATION.to_string(), a.clone());
            }
            let l = listen(&c, &ann, 0);
            let mut sorted = l.sockets.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&sorted, &l.sockets);
            prop_assert!(l.sockets.iter().all(|s| s.port != 0));
            if let Some(a) = &annotation {
                prop_assert_eq!(&l.source, &ListenSource::Annotation);
                if let Ok(parsed) = parse_listen_annotation(a) {
                    prop_assert_eq!(parsed, l.sockets);
                }
            }
        }
    }
}
