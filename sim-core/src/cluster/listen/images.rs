//! The table of well-known images: what each listens on by default, and the flags and
//! environment variables that move it.
//!
//! An image is matched on its repository path, with the registry host, the tag and the
//! digest ignored, and Docker Hub's `library/` dropped: `docker.io/library/nginx:1.27`,
//! `nginx` and `nginx@sha256:...` are all `nginx`; `bitnami/nginx` is another image
//! (it listens on 8080). Mirrors that keep the path (`mirror.gcr.io/library/nginx`,
//! `public.ecr.aws/docker/library/nginx`) match too.
//!
//! | image (repository path) | listens on | read from the command line / env | source |
//! |---|---|---|---|
//! | `nginx` | 80/TCP | (config file: unknown) | docker-library/nginx Dockerfile `EXPOSE 80`, `default.conf` `listen 80` |
//! | `nginxinc/nginx-unprivileged` | 8080/TCP | | nginxinc/docker-nginx-unprivileged README |
//! | `bitnami/nginx` | 8080/TCP | `NGINX_HTTP_PORT_NUMBER` | bitnami/containers nginx README |
//! | `nginx-slim` (registry.k8s.io, google_containers) | 80/TCP | | kubernetes/kubernetes test/images/nginx-slim |
//! | `httpd` | 80/TCP | | docker-library/httpd `EXPOSE 80`, `Listen 80` |
//! | `caddy` | 80/TCP, 127.0.0.1:2019 (admin) | | caddyserver/caddy-docker `Caddyfile` `:80`, admin default `localhost:2019` |
//! | `redis`, `bitnami/redis`, `valkey/valkey`, `redis/redis-stack-server` | 6379/TCP | `--port N`, `--bind A...` | redis.conf `port 6379`; the Docker image runs without `bind` |
//! | `postgres`, `bitnami/postgresql`, `postgis/postgis` | 5432/TCP | `-p N`, `-c port=N`, `--port=N`, `PGPORT`; `-h A`, `-c listen_addresses=A` | postgres(1); the image sets `listen_addresses='*'` |
//! | `mysql`, `percona` | 3306/TCP, 33060/TCP (X protocol, 8.x) | `--port=N`, `-P N`, `MYSQL_TCP_PORT`; `--bind-address=A`; `--mysqlx-port=N`, `--mysqlx=OFF` | MySQL server option reference |
//! | `mariadb`, `bitnami/mysql`, `bitnami/mariadb` | 3306/TCP | as mysql, without X protocol | MariaDB server option reference |
//! | `mongo`, `bitnami/mongodb`, `mongodb/mongodb-community-server` | 27017/TCP (27018 with `--shardsvr`, 27019 with `--configsvr`) | `--port N`, `--bind_ip A,B`, `--bind_ip_all` | mongod options; the image's entrypoint adds `--bind_ip_all` |
//! | `memcached`, `bitnami/memcached` | 11211/TCP (UDP off by default since 1.5.6) | `-p N`/`--port=N`, `-U N`/`--udp-port=N`, `-l A`/`--listen=A` | memcached(1) |
//! | `rabbitmq`, `bitnami/rabbitmq` | 5672, 4369 (epmd), 25672 (= 20000 + AMQP port), 15672 for `-management` tags | `RABBITMQ_NODE_PORT` | rabbitmq.com networking guide, docker-library/rabbitmq |
//! | `cassandra` | 7000, 7001, 7199, 9042, 9160 | | docker-library/cassandra `EXPOSE` |
//! | `elasticsearch` (`elasticsearch/elasticsearch`, `elastic/elasticsearch`) | 9200, 9300 | | Elastic docs |
//! | `ingress-nginx/controller` | 80, 443, 10254 (healthz, metrics), the `--validating-webhook` address (8443 in the project's manifests) | `--http-port`, `--https-port`, `--healthz-port`, `--validating-webhook` | ingress-nginx cli-arguments docs |
//! | `coredns`, `coredns/coredns` | 53/UDP, 53/TCP, 9153 (prometheus), 8080 (health), 8181 (ready) | `-dns.port` | kubeadm's default Corefile |
//! | `hashicorp/http-echo` | 5678/TCP | `-listen=[ADDR]:PORT` | hashicorp/http-echo README |
//! | `traefik/whoami` | 80/TCP | `--port N`, `WHOAMI_PORT_NUMBER` | traefik/whoami README |
//! | `echoserver` (registry.k8s.io, k8s.gcr.io, google_containers), `e2e-test-images/echoserver` | 8080/TCP, 8443/TCP | | kubernetes e2e echoserver image (nginx config `listen 8080`, `listen 8443 ssl`) |
//! | `e2e-test-images/agnhost` | by subcommand (see [`agnhost`]) | | kubernetes/kubernetes test/images/agnhost README |
//! | `google-samples/hello-app`, `google-samples/containers/gke/hello-app` | 8080/TCP | `PORT` | GoogleCloudPlatform/kubernetes-engine-samples `hello-app/main.go` |
//! | `kicbase/echo-server`, `jmalloc/echo-server`, `paulbouwer/hello-kubernetes` | 8080/TCP | `PORT` | their READMEs |
//! | `ealen/echo-server` | 80/TCP | `PORT` | ealen/echo-server README |
//! | `mccutchen/go-httpbin` | 8080/TCP | `-port N`, `PORT` | mccutchen/go-httpbin README |
//! | `kennethreitz/httpbin` | 80/TCP | | its Dockerfile (gunicorn `-b 0.0.0.0:80`) |
//! | `mendhak/http-https-echo` | 8080/TCP, 8443/TCP | `HTTP_PORT`, `HTTPS_PORT` | its README |
//! | `stefanprodan/podinfo` | 9898/TCP | `--port N` | stefanprodan/podinfo README |
//! | `luksa/kubia`, `luksa/kubia-pet`, `luksa/kubia-unhealthy` | 8080/TCP | | Kubernetes in Action, `app.js` (`listen(8080)`) |
//! | `prom/prometheus` | 9090/TCP | `--web.listen-address=[A]:P` | Prometheus docs |
//! | `prom/node-exporter` | 9100/TCP | `--web.listen-address=[A]:P` | node_exporter README |
//! | `grafana/grafana` | 3000/TCP | `GF_SERVER_HTTP_PORT` | Grafana docs |
//! | `praqma/network-multitool`, `wbitt/network-multitool` | 80/TCP, 443/TCP | `HTTP_PORT`, `HTTPS_PORT` | its README (it runs nginx) |
//! | `testing/app` (registry.istio.io), `istio-testing/app` | every `--port` (8080), `--grpc` (7070), `--tcp`, `--xds-grpc-server`, `--metrics`; `--udp` | the flags | istio/istio `pkg/test/echo/cmd/server` |
//! | `jaegertracing/all-in-one` | 5775, 6831, 6832 UDP; 4317, 4318, 5778, 14250, 14267, 14268, 14269, 16686 TCP (the union over 1.x) | `COLLECTOR_ZIPKIN_HOST_PORT` | Jaeger getting-started docs |
//! | `pause` | nothing | | the pause container |
//! | `busybox`, `alpine`, `curlimages/curl`, `nicolaka/netshoot`, `ubuntu`, `debian`, `python`, `fedora`, `centos`, `bash`, ... | nothing, unless the command starts a server simctl reads (see [`super::shell`]) | `nc -l`, busybox `httpd`, `python -m http.server`, `socat` | |

use crate::cluster::{Bind, Socket};
use crate::net::Protocol;

use super::argv::{self, Argv};
use super::shell;

/// An image reference, reduced to what the table matches on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// The repository path without registry host and Docker Hub's `library/`,
    /// lower case: `nginx`, `bitnami/nginx`, `ingress-nginx/controller`.
    pub repository: String,
    /// The tag (`latest` when none is written; the digest is dropped).
    pub tag: String,
}

/// `docker.io/library/nginx:1.27@sha256:...` -> (`nginx`, `1.27`).
pub fn parse_image(image: &str) -> ImageRef {
    let s = image.trim();
    let s = s.split('@').next().unwrap_or(s);
    let last_slash = s.rfind('/');
    let (name, tag) = match s.rfind(':') {
        Some(i) if last_slash.is_none_or(|sl| i > sl) => (&s[..i], &s[i + 1..]),
        _ => (s, "latest"),
    };
    let mut parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() > 1 {
        let host = parts[0];
        if host.contains('.') || host.contains(':') || host == "localhost" {
            parts.remove(0);
        }
    }
    // Docker Hub's official images, also as mirrors spell them.
    if parts.len() > 2 && parts[0] == "docker" && parts[1] == "library" {
        parts.drain(..2);
    } else if parts.len() > 1 && parts[0] == "library" {
        parts.remove(0);
    }
    ImageRef {
        repository: parts.join("/").to_ascii_lowercase(),
        tag: if tag.is_empty() { "latest" } else { tag }.to_string(),
    }
}

/// What the table says about one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageListen {
    /// The table's name for the image (`nginx`, `hashicorp/http-echo`).
    pub name: &'static str,
    pub sockets: Vec<Socket>,
    /// Default ports of the image that a flag or variable moved elsewhere: a declared
    /// containerPort equal to one of these is known to be stale, not a custom config.
    pub moved: Vec<(u16, Protocol)>,
    /// What was read, for the trace (`nginx listens on 80/TCP`, `--port 6380 in args`).
    pub notes: Vec<String>,
    /// When a declared containerPort the table does not list is trusted as well.
    pub trust: Trust,
    /// Where the image reads a configuration that may move its ports.
    pub config: ImageConfig,
}

/// When declared containerPorts the table does not list count as listening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Only when the pod shows that the image's configuration changed (a volume at its
    /// configuration path, a command or args the table does not fully read, an
    /// environment variable it reads): containerPort alone is documentation.
    OnEvidence,
    /// Always: the image serves ports from a configuration simctl never sees
    /// (ingress-nginx's TCP/UDP services ConfigMap), or its command runs a program
    /// simctl does not know (`sh -c ./server`).
    Always,
    /// Never: a general-purpose image whose command is known to serve nothing.
    Never,
}

/// Where an image reads a configuration that may move its ports (the evidence
/// [`Trust::OnEvidence`] looks for).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ImageConfig {
    /// Configuration files and directories: a volume mounted there, above them or
    /// inside them replaces what the image ships.
    pub paths: &'static [&'static str],
    /// Environment variables it reads (`GF_*`: a prefix); `envFrom` may carry them.
    pub env: &'static [&'static str],
    /// The table reads every flag that moves a port: command-line arguments are no
    /// evidence of a changed configuration.
    pub args_read: bool,
}

/// The configuration paths, variables and flags of the table's images (their
/// documentation: the docker-library READMEs, Bitnami's, the projects' own).
fn config_of(name: &str) -> ImageConfig {
    const NGINX: &[&str] = &[
        "/etc/nginx/nginx.conf",
        "/etc/nginx/conf.d",
        "/etc/nginx/templates",
        "/etc/nginx/sites-enabled",
        "/etc/nginx/sites-available",
    ];
    let c = |paths, env, args_read| ImageConfig {
        paths,
        env,
        args_read,
    };
    match name {
        "nginx" | "nginx-unprivileged" | "echoserver" | "network-multitool" => c(NGINX, &[], false),
        "bitnami/nginx" => c(&["/opt/bitnami/nginx/conf"], &["NGINX_*"], false),
        "httpd" => c(&["/usr/local/apache2/conf"], &[], false),
        "caddy" => c(&["/etc/caddy", "/config/caddy"], &["CADDY_*"], false),
        "redis" => c(
            &[
                "/usr/local/etc/redis",
                "/etc/redis",
                "/opt/bitnami/redis/etc",
                "/opt/bitnami/redis/mounted-etc",
            ],
            &["REDIS_ARGS", "REDIS_*"],
            false,
        ),
        "postgres" => c(
            &[
                "/etc/postgresql",
                "/opt/bitnami/postgresql/conf",
                "/bitnami/postgresql/conf",
            ],
            &["POSTGRESQL_*"],
            false,
        ),
        "mysql" | "mariadb" => c(
            &[
                "/etc/mysql",
                "/etc/my.cnf",
                "/etc/my.cnf.d",
                "/opt/bitnami/mysql/conf",
                "/opt/bitnami/mariadb/conf",
            ],
            &["MYSQL_*", "MARIADB_*"],
            false,
        ),
        "mongo" => c(&["/etc/mongo", "/etc/mongod.conf"], &["MONGODB_*"], false),
        "rabbitmq" => c(
            &["/etc/rabbitmq", "/opt/bitnami/rabbitmq/etc"],
            &["RABBITMQ_*"],
            false,
        ),
        "cassandra" => c(
            &["/etc/cassandra", "/opt/bitnami/cassandra/conf"],
            &["CASSANDRA_*"],
            false,
        ),
        // The image turns `http.port` style variables into settings.
        "elasticsearch" => c(
            &["/usr/share/elasticsearch/config"],
            &["http.*", "transport.*", "HTTP_*"],
            false,
        ),
        "coredns" => c(&["/etc/coredns"], &[], false),
        "grafana" => c(&["/etc/grafana"], &["GF_*"], false),
        "jaeger all-in-one" => c(
            &[],
            &["COLLECTOR_*", "QUERY_*", "ADMIN_*", "PROCESSOR_*"],
            false,
        ),
        "hashicorp/http-echo"
        | "traefik/whoami"
        | "go-httpbin"
        | "prometheus"
        | "node-exporter"
        | "istio echo"
        | "pause"
        | "kubia" => c(&[], &[], true),
        n if n.starts_with("agnhost") => c(&[], &[], true),
        _ => ImageConfig::default(),
    }
}

/// The table entry for `image`, if any, read against the command line.
pub fn lookup(image: &str, argv: &Argv) -> Option<ImageListen> {
    let r = parse_image(image);
    let entry = TABLE
        .iter()
        .find(|e| e.repositories.contains(&r.repository.as_str()))?;
    let mut out = Out::new(entry.name);
    (entry.read)(&mut out, argv, &r.tag)?;
    out.sockets.sort();
    out.sockets.dedup();
    Some(ImageListen {
        name: out.name,
        sockets: out.sockets,
        moved: out.moved,
        notes: out.notes,
        trust: out.trust,
        config: config_of(out.name),
    })
}

/// Every repository path the table knows (for docs and tests).
pub fn known_repositories() -> impl Iterator<Item = &'static str> {
    TABLE.iter().flat_map(|e| e.repositories.iter().copied())
}

struct Entry {
    name: &'static str,
    repositories: &'static [&'static str],
    /// Fill in the sockets; `None` when the image's behaviour cannot be read (an
    /// agnhost subcommand simctl does not know): the caller falls back.
    read: fn(&mut Out, &Argv, &str) -> Option<()>,
}

struct Out {
    name: &'static str,
    sockets: Vec<Socket>,
    moved: Vec<(u16, Protocol)>,
    notes: Vec<String>,
    trust: Trust,
}

impl Out {
    fn new(name: &'static str) -> Out {
        Out {
            name,
            sockets: Vec::new(),
            moved: Vec::new(),
            notes: Vec::new(),
            trust: Trust::OnEvidence,
        }
    }

    fn socket(&mut self, bind: Bind, port: u16, protocol: Protocol) {
        self.sockets.push(Socket {
            bind,
            port,
            protocol,
        });
    }

    /// The port of one listener: the first source that names a valid port, else the
    /// default. Sources are (`how it reads in a note`, value) in precedence order.
    fn port(&mut self, default: u16, protocol: Protocol, sources: &[(&str, Option<&str>)]) -> u16 {
        for (label, value) in sources {
            let Some(v) = value else { continue };
            if let Some(p) = argv::port(v) {
                if p != default {
                    self.moved.push((default, protocol));
                    self.notes.push(format!(
                        "{label}{v} moves {default}/{} to {p}",
                        protocol.lower()
                    ));
                }
                return p;
            }
        }
        default
    }

    fn default_note(&mut self) {
        let mut sorted = self.sockets.clone();
        sorted.sort();
        sorted.dedup();
        let listed: Vec<String> = sorted
            .iter()
            .map(|s| match s.bind {
                Bind::Any => format!("{}/{}", s.port, s.protocol),
                Bind::Loopback => format!("127.0.0.1:{}/{}", s.port, s.protocol),
                Bind::Ip(ip) => format!("{ip}:{}/{}", s.port, s.protocol),
            })
            .collect();
        let text = if listed.is_empty() {
            format!("{} listens on nothing", self.name)
        } else {
            format!("{} listens on {}", self.name, listed.join(", "))
        };
        self.notes.insert(0, text);
    }
}

/// Binds from a list of addresses (`127.0.0.1,10.0.0.5`, `--bind 127.0.0.1 ::1`);
/// `None` when none is an address simctl understands.
fn binds<'a>(addrs: impl IntoIterator<Item = &'a str>) -> Option<Vec<Bind>> {
    let mut out: Vec<Bind> = addrs
        .into_iter()
        .flat_map(|a| a.split(','))
        .filter_map(argv::bind)
        .collect();
    out.sort();
    out.dedup();
    if out.contains(&Bind::Any) {
        return Some(vec![Bind::Any]);
    }
    (!out.is_empty()).then_some(out)
}

fn finish(out: &mut Out) -> Option<()> {
    out.default_note();
    Some(())
}

/// One TCP port everywhere, moved by the given sources.
fn simple(out: &mut Out, default: u16, sources: &[(&str, Option<&str>)]) -> Option<()> {
    let p = out.port(default, Protocol::Tcp, sources);
    out.socket(Bind::Any, p, Protocol::Tcp);
    finish(out)
}

const TCP: Protocol = Protocol::Tcp;
const UDP: Protocol = Protocol::Udp;

static TABLE: &[Entry] = &[
    Entry {
        name: "nginx",
        repositories: &[
            "nginx",
            "nginx-slim",
            "google_containers/nginx-slim",
            "google-containers/nginx-slim",
            "nginx/nginx",
        ],
        read: |o, _, _| simple(o, 80, &[]),
    },
    Entry {
        name: "nginx-unprivileged",
        repositories: &["nginxinc/nginx-unprivileged", "nginx/nginx-unprivileged"],
        read: |o, _, _| simple(o, 8080, &[]),
    },
    Entry {
        name: "bitnami/nginx",
        repositories: &["bitnami/nginx"],
        read: |o, a, _| {
            simple(
                o,
                8080,
                &[("NGINX_HTTP_PORT_NUMBER=", a.env("NGINX_HTTP_PORT_NUMBER"))],
            )
        },
    },
    Entry {
        name: "httpd",
        repositories: &["httpd"],
        read: |o, _, _| simple(o, 80, &[]),
    },
    Entry {
        name: "caddy",
        repositories: &["caddy"],
        read: |o, _, _| {
            o.socket(Bind::Any, 80, TCP);
            o.socket(Bind::Loopback, 2019, TCP);
            finish(o)
        },
    },
    Entry {
        name: "redis",
        repositories: &[
            "redis",
            "bitnami/redis",
            "valkey/valkey",
            "redis/redis-stack-server",
            "google_samples/gb-redisslave",
            "google-samples/gb-redis-follower",
            "google_samples/gb-redis-follower",
        ],
        read: |o, a, _| {
            let p = o.port(
                6379,
                TCP,
                &[
                    ("--port ", a.value(&["--port"])),
                    ("REDIS_PORT_NUMBER=", a.env("REDIS_PORT_NUMBER")),
                ],
            );
            let bs = a
                .values_until_flag("--bind")
                .and_then(binds)
                .unwrap_or_else(|| vec![Bind::Any]);
            if bs != [Bind::Any] {
                o.notes.push("--bind from args".to_string());
            }
            for b in bs {
                o.socket(b, p, TCP);
            }
            finish(o)
        },
    },
    Entry {
        name: "postgres",
        repositories: &["postgres", "bitnami/postgresql", "postgis/postgis"],
        read: |o, a, _| {
            let c_port = c_option(a, "port");
            let p = o.port(
                5432,
                TCP,
                &[
                    ("-p ", a.short('p')),
                    ("-c port=", c_port),
                    ("--port=", a.value(&["--port"])),
                    ("PGPORT=", a.env("PGPORT")),
                    ("POSTGRESQL_PORT_NUMBER=", a.env("POSTGRESQL_PORT_NUMBER")),
                ],
            );
            let listen = a
                .short('h')
                .or_else(|| c_option(a, "listen_addresses"))
                .or_else(|| a.value(&["--listen_addresses", "--listen-addresses"]));
            let bs = listen
                .and_then(|l| binds([l]))
                .unwrap_or_else(|| vec![Bind::Any]);
            if bs != [Bind::Any] {
                o.notes.push("listen_addresses from args".to_string());
            }
            for b in bs {
                o.socket(b, p, TCP);
            }
            finish(o)
        },
    },
    Entry {
        name: "mysql",
        repositories: &["mysql", "percona", "mysql/mysql-server"],
        read: |o, a, tag| mysql(o, a, !tag.starts_with('5')),
    },
    Entry {
        name: "mariadb",
        repositories: &["mariadb", "bitnami/mysql", "bitnami/mariadb"],
        read: |o, a, _| mysql(o, a, false),
    },
    Entry {
        name: "mongo",
        repositories: &[
            "mongo",
            "bitnami/mongodb",
            "mongodb/mongodb-community-server",
        ],
        read: |o, a, _| {
            let default = if a.has("--shardsvr") {
                27018
            } else if a.has("--configsvr") {
                27019
            } else {
                27017
            };
            let p = o.port(default, TCP, &[("--port ", a.value(&["--port"]))]);
            let bs = if a.has("--bind_ip_all") {
                vec![Bind::Any]
            } else {
                a.value(&["--bind_ip"])
                    .and_then(|v| binds([v]))
                    .unwrap_or_else(|| vec![Bind::Any])
            };
            if bs != [Bind::Any] {
                o.notes.push("--bind_ip from args".to_string());
            }
            for b in bs {
                o.socket(b, p, TCP);
            }
            finish(o)
        },
    },
    Entry {
        name: "memcached",
        repositories: &["memcached", "bitnami/memcached"],
        read: |o, a, _| {
            let p = o.port(
                11211,
                TCP,
                &[("-p ", a.short('p')), ("--port=", a.value(&["--port"]))],
            );
            let udp = a
                .short('U')
                .or_else(|| a.value(&["--udp-port"]))
                .and_then(argv::port);
            let bs = a
                .short('l')
                .or_else(|| a.value(&["--listen"]))
                .and_then(|v| binds([v]))
                .unwrap_or_else(|| vec![Bind::Any]);
            for b in bs {
                o.socket(b, p, TCP);
                if let Some(u) = udp {
                    o.socket(b, u, UDP);
                }
            }
            finish(o)
        },
    },
    Entry {
        name: "rabbitmq",
        repositories: &["rabbitmq", "bitnami/rabbitmq"],
        read: |o, a, tag| {
            let amqp = o.port(
                5672,
                TCP,
                &[("RABBITMQ_NODE_PORT=", a.env("RABBITMQ_NODE_PORT"))],
            );
            o.socket(Bind::Any, amqp, TCP);
            o.socket(Bind::Any, 4369, TCP);
            if let Some(dist) = amqp.checked_add(20000) {
                o.socket(Bind::Any, dist, TCP);
            }
            if tag.contains("management") {
                o.socket(Bind::Any, 15672, TCP);
            }
            finish(o)
        },
    },
    Entry {
        name: "cassandra",
        repositories: &["cassandra", "bitnami/cassandra"],
        read: |o, _, _| {
            for p in [7000, 7001, 7199, 9042, 9160] {
                o.socket(Bind::Any, p, TCP);
            }
            finish(o)
        },
    },
    Entry {
        name: "elasticsearch",
        repositories: &[
            "elasticsearch",
            "elasticsearch/elasticsearch",
            "elastic/elasticsearch",
        ],
        read: |o, _, _| {
            o.socket(Bind::Any, 9200, TCP);
            o.socket(Bind::Any, 9300, TCP);
            finish(o)
        },
    },
    Entry {
        name: "ingress-nginx/controller",
        repositories: &[
            "ingress-nginx/controller",
            "ingress-nginx/controller-chroot",
            "kubernetes-ingress-controller/nginx-ingress-controller",
        ],
        read: |o, a, _| {
            let http = o.port(80, TCP, &[("--http-port=", a.value(&["--http-port"]))]);
            let https = o.port(443, TCP, &[("--https-port=", a.value(&["--https-port"]))]);
            let health = o.port(
                10254,
                TCP,
                &[("--healthz-port=", a.value(&["--healthz-port"]))],
            );
            for p in [http, https, health] {
                o.socket(Bind::Any, p, TCP);
            }
            if let Some(v) = a.value(&["--validating-webhook"])
                && let Some((b, p)) = argv::host_port(v)
            {
                o.socket(b.unwrap_or(Bind::Any), p, TCP);
                o.notes.push(format!("--validating-webhook={v} from args"));
            }
            // TCP/UDP services exposed through ConfigMaps listen on ports simctl
            // cannot see: the declared containerPorts are trusted (always are).
            o.trust = Trust::Always;
            finish(o)
        },
    },
    Entry {
        name: "coredns",
        repositories: &["coredns", "coredns/coredns"],
        read: |o, a, _| {
            // The kubeadm Corefile: `.:53 { health; ready; prometheus :9153 ... }`.
            let dns = o.port(
                53,
                UDP,
                &[("-dns.port=", a.value(&["-dns.port", "--dns.port"]))],
            );
            if dns != 53 {
                o.moved.push((53, TCP));
            }
            o.socket(Bind::Any, dns, UDP);
            o.socket(Bind::Any, dns, TCP);
            o.socket(Bind::Any, 9153, TCP);
            o.socket(Bind::Any, 8080, TCP);
            o.socket(Bind::Any, 8181, TCP);
            finish(o)
        },
    },
    Entry {
        name: "hashicorp/http-echo",
        repositories: &["hashicorp/http-echo"],
        read: |o, a, _| {
            let (bind, port) = match a.value(&["-listen", "--listen"]) {
                Some(v) => match argv::host_port(v) {
                    Some((b, p)) => {
                        if p != 5678 {
                            o.moved.push((5678, TCP));
                        }
                        o.notes.push(format!("-listen={v} from args"));
                        (b.unwrap_or(Bind::Any), p)
                    }
                    None => (Bind::Any, 5678),
                },
                None => (Bind::Any, 5678),
            };
            o.socket(bind, port, TCP);
            finish(o)
        },
    },
    Entry {
        name: "traefik/whoami",
        repositories: &["traefik/whoami", "containous/whoami"],
        read: |o, a, _| {
            simple(
                o,
                80,
                &[
                    ("--port ", a.value(&["--port", "-port"])),
                    ("WHOAMI_PORT_NUMBER=", a.env("WHOAMI_PORT_NUMBER")),
                ],
            )
        },
    },
    Entry {
        name: "echoserver",
        repositories: &[
            "echoserver",
            "google_containers/echoserver",
            "google-containers/echoserver",
            "e2e-test-images/echoserver",
        ],
        read: |o, _, _| {
            o.socket(Bind::Any, 8080, TCP);
            o.socket(Bind::Any, 8443, TCP);
            finish(o)
        },
    },
    Entry {
        name: "agnhost",
        repositories: &[
            "e2e-test-images/agnhost",
            "kubernetes-e2e-test-images/agnhost",
            "agnhost",
        ],
        read: agnhost,
    },
    Entry {
        name: "hello-app",
        repositories: &[
            "google-samples/hello-app",
            "google_samples/hello-app",
            "google-samples/containers/gke/hello-app",
        ],
        read: |o, a, _| simple(o, 8080, &[("PORT=", a.env("PORT"))]),
    },
    Entry {
        name: "echo-server",
        repositories: &[
            "kicbase/echo-server",
            "jmalloc/echo-server",
            "paulbouwer/hello-kubernetes",
        ],
        read: |o, a, _| simple(o, 8080, &[("PORT=", a.env("PORT"))]),
    },
    Entry {
        name: "ealen/echo-server",
        repositories: &["ealen/echo-server"],
        read: |o, a, _| simple(o, 80, &[("PORT=", a.env("PORT"))]),
    },
    Entry {
        name: "go-httpbin",
        repositories: &["mccutchen/go-httpbin"],
        read: |o, a, _| {
            simple(
                o,
                8080,
                &[
                    ("-port ", a.value(&["-port", "--port"])),
                    ("PORT=", a.env("PORT")),
                ],
            )
        },
    },
    Entry {
        name: "httpbin",
        repositories: &["kennethreitz/httpbin"],
        read: |o, _, _| simple(o, 80, &[]),
    },
    Entry {
        name: "http-https-echo",
        repositories: &["mendhak/http-https-echo"],
        read: |o, a, _| {
            let h = o.port(8080, TCP, &[("HTTP_PORT=", a.env("HTTP_PORT"))]);
            let s = o.port(8443, TCP, &[("HTTPS_PORT=", a.env("HTTPS_PORT"))]);
            o.socket(Bind::Any, h, TCP);
            o.socket(Bind::Any, s, TCP);
            finish(o)
        },
    },
    Entry {
        name: "podinfo",
        repositories: &["stefanprodan/podinfo"],
        read: |o, a, _| simple(o, 9898, &[("--port=", a.value(&["--port"]))]),
    },
    Entry {
        name: "kubia",
        repositories: &["luksa/kubia", "luksa/kubia-pet", "luksa/kubia-unhealthy"],
        read: |o, _, _| simple(o, 8080, &[]),
    },
    Entry {
        name: "prometheus",
        repositories: &["prom/prometheus", "prometheus/prometheus"],
        read: |o, a, _| web_listen(o, a, 9090),
    },
    Entry {
        name: "node-exporter",
        repositories: &["prom/node-exporter", "prometheus/node-exporter"],
        read: |o, a, _| web_listen(o, a, 9100),
    },
    Entry {
        name: "grafana",
        repositories: &["grafana/grafana", "grafana/grafana-oss"],
        read: |o, a, _| {
            simple(
                o,
                3000,
                &[("GF_SERVER_HTTP_PORT=", a.env("GF_SERVER_HTTP_PORT"))],
            )
        },
    },
    Entry {
        name: "network-multitool",
        repositories: &["praqma/network-multitool", "wbitt/network-multitool"],
        read: |o, a, _| {
            let h = o.port(80, TCP, &[("HTTP_PORT=", a.env("HTTP_PORT"))]);
            let s = o.port(443, TCP, &[("HTTPS_PORT=", a.env("HTTPS_PORT"))]);
            o.socket(Bind::Any, h, TCP);
            o.socket(Bind::Any, s, TCP);
            finish(o)
        },
    },
    Entry {
        name: "istio echo",
        repositories: &["testing/app", "istio-testing/app", "istio/app"],
        read: istio_echo,
    },
    Entry {
        name: "jaeger all-in-one",
        repositories: &["jaegertracing/all-in-one"],
        read: |o, a, _| {
            // The union over 1.x releases: agent (UDP 5775, 6831, 6832; 5778 configs),
            // collector (14250 gRPC, 14267 TChannel, 14268 HTTP, 14269 admin), query
            // (16686), OTLP (4317, 4318); Zipkin only when configured.
            for p in [5775, 6831, 6832] {
                o.socket(Bind::Any, p, UDP);
            }
            for p in [4317, 4318, 5778, 14250, 14267, 14268, 14269, 16686] {
                o.socket(Bind::Any, p, TCP);
            }
            let zipkin = a
                .env("COLLECTOR_ZIPKIN_HOST_PORT")
                .or_else(|| a.env("COLLECTOR_ZIPKIN_HTTP_PORT"))
                .and_then(argv::host_port);
            if let Some((b, p)) = zipkin {
                o.socket(b.unwrap_or(Bind::Any), p, TCP);
            }
            finish(o)
        },
    },
    Entry {
        name: "pause",
        repositories: &[
            "pause",
            "pause-amd64",
            "google_containers/pause",
            "google_containers/pause-amd64",
        ],
        read: |o, _, _| finish(o),
    },
    Entry {
        name: "a general-purpose image",
        repositories: &[
            "busybox",
            "alpine",
            "curlimages/curl",
            "nicolaka/netshoot",
            "ubuntu",
            "debian",
            "python",
            "fedora",
            "centos",
            "rockylinux",
            "almalinux",
            "amazonlinux",
            "bash",
            "radial/busyboxplus",
            "e2e-test-images/busybox",
            "google-containers/busybox",
            "google_containers/busybox",
            "giantswarm/tiny-tools",
            "appropriate/curl",
            "tutum/dnsutils",
            "e2e-test-images/jessie-dnsutils",
        ],
        read: general_purpose,
    },
];

/// mysqld and mariadbd.
fn mysql(o: &mut Out, a: &Argv, x_protocol: bool) -> Option<()> {
    let p = o.port(
        3306,
        TCP,
        &[
            ("--port=", a.value(&["--port"])),
            ("-P ", a.short('P')),
            ("MYSQL_TCP_PORT=", a.env("MYSQL_TCP_PORT")),
        ],
    );
    let bs = a
        .value(&["--bind-address", "--bind_address"])
        .and_then(|v| binds([v]))
        .unwrap_or_else(|| vec![Bind::Any]);
    if bs != [Bind::Any] {
        o.notes.push("--bind-address from args".to_string());
    }
    let x_off = matches!(
        a.value(&["--mysqlx"]),
        Some("OFF" | "off" | "0" | "FALSE" | "false")
    ) || a.has("--skip-mysqlx");
    let x = (x_protocol && !x_off).then(|| {
        o.port(
            33060,
            TCP,
            &[("--mysqlx-port=", a.value(&["--mysqlx-port"]))],
        )
    });
    for b in bs {
        o.socket(b, p, TCP);
        if let Some(x) = x {
            o.socket(b, x, TCP);
        }
    }
    finish(o)
}

/// Prometheus-style `--web.listen-address=[HOST]:PORT`.
fn web_listen(o: &mut Out, a: &Argv, default: u16) -> Option<()> {
    let (b, p) = match a.value(&["--web.listen-address"]).and_then(argv::host_port) {
        Some((b, p)) => {
            if p != default {
                o.moved.push((default, TCP));
                o.notes
                    .push(format!("--web.listen-address moves {default} to {p}"));
            }
            (b.unwrap_or(Bind::Any), p)
        }
        None => (Bind::Any, default),
    };
    o.socket(b, p, TCP);
    finish(o)
}

/// postgres' `-c name=value` (also `-cname=value`).
fn c_option<'a>(a: &'a Argv, name: &str) -> Option<&'a str> {
    let mut found = None;
    for (i, w) in a.words.iter().enumerate() {
        let kv = if w == "-c" {
            a.words.get(i + 1).map(String::as_str)
        } else {
            w.strip_prefix("-c").filter(|r| r.contains('='))
        };
        if let Some(v) = kv
            .and_then(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| v)
        {
            found = Some(v);
        }
    }
    found
}

/// agnhost: what it serves depends on its subcommand (the first known word of the
/// command line):
///
/// - `netexec`: HTTP on `--http-port` (8080) and UDP on `--udp-port` (8081; -1 turns
///   it off), SCTP on `--sctp-port` when given (off by default).
/// - `serve-hostname`: `--port` (9376), HTTP/TCP unless `--http=false`; `--tcp` TCP,
///   `--udp` UDP.
/// - `pause`: nothing.
/// - `test-webserver`: `--port` (80). `liveness`: 8080. `nettest`: `--port` (8080).
/// - `webhook`: `--port` (443). `guestbook`: `--http-port` (3000).
/// - `grpc-health-checking`: `--port` (5000, gRPC) and `--http-port` (8080).
/// - `fake-gitserver`: `--port` (8000).
/// - `porter`: every `SERVE_PORT_N` (and `SERVE_TLS_PORT_N`) variable's port N, TCP;
///   `SERVE_SCTP_PORT_N` SCTP.
///
/// Any other subcommand: `None`, and the container falls back to its declared ports.
fn agnhost(o: &mut Out, a: &Argv, _: &str) -> Option<()> {
    const SUBCOMMANDS: &[&str] = &[
        "netexec",
        "serve-hostname",
        "pause",
        "test-webserver",
        "liveness",
        "nettest",
        "webhook",
        "guestbook",
        "grpc-health-checking",
        "fake-gitserver",
        "porter",
    ];
    let sub = a
        .words
        .iter()
        .map(String::as_str)
        .find(|w| SUBCOMMANDS.contains(w))?;
    o.name = match sub {
        "netexec" => "agnhost netexec",
        "serve-hostname" => "agnhost serve-hostname",
        "pause" => "agnhost pause",
        "test-webserver" => "agnhost test-webserver",
        "liveness" => "agnhost liveness",
        "nettest" => "agnhost nettest",
        "webhook" => "agnhost webhook",
        "guestbook" => "agnhost guestbook",
        "grpc-health-checking" => "agnhost grpc-health-checking",
        "fake-gitserver" => "agnhost fake-gitserver",
        _ => "agnhost porter",
    };
    let flag = |name: &str| {
        let single = format!("-{name}");
        let double = format!("--{name}");
        a.value(&[&double, &single]).map(str::to_string)
    };
    match sub {
        "netexec" => {
            let http = flag("http-port");
            let p = o.port(8080, TCP, &[("--http-port=", http.as_deref())]);
            o.socket(Bind::Any, p, TCP);
            let udp = flag("udp-port");
            if udp.as_deref().and_then(|v| v.parse::<i64>().ok()) != Some(-1) {
                let u = o.port(8081, UDP, &[("--udp-port=", udp.as_deref())]);
                o.socket(Bind::Any, u, UDP);
            }
            if let Some(s) = flag("sctp-port").as_deref().and_then(argv::port) {
                o.socket(Bind::Any, s, Protocol::Sctp);
            }
        }
        "serve-hostname" => {
            let port = flag("port");
            let p = o.port(9376, TCP, &[("--port=", port.as_deref())]);
            let http = a.bool_flag(&["--http", "-http"]).unwrap_or(true);
            let tcp = a.bool_flag(&["--tcp", "-tcp"]).unwrap_or(false);
            let udp = a.bool_flag(&["--udp", "-udp"]).unwrap_or(false);
            if http || tcp {
                o.socket(Bind::Any, p, TCP);
            }
            if udp {
                o.socket(Bind::Any, p, UDP);
            }
        }
        "pause" => {}
        "porter" => {
            for k in a.env.keys() {
                let (prefix, proto) = if let Some(n) = k.strip_prefix("SERVE_PORT_") {
                    (n, TCP)
                } else if let Some(n) = k.strip_prefix("SERVE_TLS_PORT_") {
                    (n, TCP)
                } else if let Some(n) = k.strip_prefix("SERVE_SCTP_PORT_") {
                    (n, Protocol::Sctp)
                } else {
                    continue;
                };
                if let Some(p) = argv::port(prefix) {
                    o.socket(Bind::Any, p, proto);
                }
            }
        }
        _ => {
            let (name, default) = match sub {
                "test-webserver" => ("port", 80),
                "liveness" => ("", 8080),
                "nettest" => ("port", 8080),
                "webhook" => ("port", 443),
                "guestbook" => ("http-port", 3000),
                "grpc-health-checking" => ("port", 5000),
                _ => ("port", 8000),
            };
            let v = if name.is_empty() { None } else { flag(name) };
            let p = o.port(default, TCP, &[("--port=", v.as_deref())]);
            o.socket(Bind::Any, p, TCP);
            if sub == "grpc-health-checking" {
                let hv = flag("http-port");
                let h = o.port(8080, TCP, &[("--http-port=", hv.as_deref())]);
                o.socket(Bind::Any, h, TCP);
            }
        }
    }
    finish(o)
}

/// Istio's test echo server (`pkg/test/echo/cmd/server`): every `--port` (HTTP,
/// default 8080), `--grpc` (default 7070), `--tcp`, `--xds-grpc-server` and
/// `--metrics` port on TCP, `--udp` on UDP; ports listed in `--bind-localhost` on
/// loopback only.
fn istio_echo(o: &mut Out, a: &Argv, _: &str) -> Option<()> {
    let mut http = a.all_values(&["--port"]);
    if http.is_empty() {
        http.push("8080");
    }
    let mut grpc = a.all_values(&["--grpc"]);
    if grpc.is_empty() {
        grpc.push("7070");
    }
    let local: Vec<u16> = a
        .all_values(&["--bind-localhost"])
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(argv::port)
        .collect();
    let tcp_ports = http.into_iter().chain(grpc).chain(a.all_values(&[
        "--tcp",
        "--xds-grpc-server",
        "--metrics",
    ]));
    for p in tcp_ports.filter_map(argv::port) {
        let bind = if local.contains(&p) {
            Bind::Loopback
        } else {
            Bind::Any
        };
        o.socket(bind, p, TCP);
    }
    for p in a.all_values(&["--udp"]).into_iter().filter_map(argv::port) {
        o.socket(Bind::Any, p, UDP);
    }
    finish(o)
}

/// busybox, alpine, curl, netshoot...: nothing, unless the command starts a server.
fn general_purpose(o: &mut Out, a: &Argv, _: &str) -> Option<()> {
    let scan = shell::scan(a);
    o.sockets = scan.sockets;
    o.default_note();
    if scan.servers.is_empty() {
        o.notes[0] =
            "a general-purpose image: listens on nothing unless its command starts a server"
                .to_string();
    } else {
        o.notes[0] = format!("its command starts {}", scan.servers.join(", "));
    }
    match scan.unknown {
        Some(p) => {
            o.notes.push(format!(
                "`{p}` in its command may serve: declared containerPorts are trusted"
            ));
            o.trust = Trust::Always;
        }
        None => o.trust = Trust::Never,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        for (image, repo, tag) in [
            ("nginx", "nginx", "latest"),
            ("nginx:1.27", "nginx", "1.27"),
            ("docker.io/library/nginx:1.27", "nginx", "1.27"),
            ("nginx@sha256:abcd", "nginx", "latest"),
            ("nginx:1.27@sha256:abcd", "nginx", "1.27"),
            ("library/nginx", "nginx", "latest"),
            ("public.ecr.aws/docker/library/nginx:1", "nginx", "1"),
            ("localhost:5000/nginx", "nginx", "latest"),
            ("localhost:5000/team/app:v2", "team/app", "v2"),
            ("bitnami/nginx:1.25", "bitnami/nginx", "1.25"),
            (
                "registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:59",
                "ingress-nginx/controller",
                "v1.15.1",
            ),
            (
                "us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0",
                "google-samples/containers/gke/hello-app",
                "1.0",
            ),
        ] {
            let r = parse_image(image);
            assert_eq!(
                (r.repository.as_str(), r.tag.as_str()),
                (repo, tag),
                "{image}"
            );
        }
    }
}
