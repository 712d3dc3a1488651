import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KAFKA_DIR, kafkaLibsDir } from './paths';
import { InfraError, Logger, PROGRESS_INTERVAL_MS, commandExists, consoleLogger, withFileLock } from './util';
import { DEFAULT_KAFKA_VERSION, KAFKA_SCALA_VERSION, LOG4J2_SLF4J_BINDING, MAVEN_DEPENDENCY_PLUGIN, isKafka4, kafkaVersion } from './versions';

/** Written last into the libs folder: its presence means the download is complete. */
const COMPLETE_MARKER = '.complete';

/**
 * Artifacts fetched from Maven Central (with their runtime dependencies).
 * 3.x: kafka-tools brings slf4j-reload4j + reload4j, the logging binding the
 * broker needs. 4.x: the artifacts bring log4j-core but no SLF4J binding, so
 * log4j2's is added (without it the broker logs nothing at all).
 */
export function kafkaArtifacts(version: string = kafkaVersion()): string[] {
  return [
    `org.apache.kafka:kafka_${KAFKA_SCALA_VERSION}:${version}`,
    `org.apache.kafka:kafka-tools:${version}`,
    ...(isKafka4(version) ? [LOG4J2_SLF4J_BINDING] : []),
  ];
}

/** Jar name prefixes that must be in a complete download. */
function requiredJars(version: string): string[] {
  const logging = isKafka4(version) ? ['log4j-core', 'log4j-slf4j-impl'] : ['slf4j-reload4j'];
  return [`kafka_${KAFKA_SCALA_VERSION}-${version}.jar`, `kafka-tools-${version}.jar`, ...logging];
}

export function isKafkaFetched(version: string = kafkaVersion()): boolean {
  return fs.existsSync(path.join(kafkaLibsDir(version), COMPLETE_MARKER));
}

export function assertJava(): void {
  if (!commandExists('java')) {
    throw new InfraError('java not found on PATH: install a JDK 17+ (e.g. `apt-get install openjdk-17-jre-headless`)');
  }
}

/**
 * Throw-away pom whose only purpose is to let the dependency plugin resolve
 * the broker and the tools with their runtime dependencies.
 */
function fetchPom(version: string): string {
  const deps = kafkaArtifacts(version)
    .map((coord) => {
      const [groupId, artifactId, v] = coord.split(':');
      return `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${v}</version></dependency>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.infra</groupId>
  <artifactId>kafka-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
</project>
`;
}

/** What Maven has downloaded so far, from its `Downloaded from <repo>: <url> (<size> at <rate>)` lines. */
export class MavenDownloadProgress {
  files = 0;
  jars = 0;
  bytes = 0;

  /** Takes one line of Maven's output; true when it was a finished download. */
  take(line: string): boolean {
    const m = /^(?:\[INFO\] )?Downloaded from [^:]+: (\S+) \(([\d.,]+) (B|kB|KB|MB|GB)/.exec(line.trim());
    if (!m) return false;
    const unit = { B: 1, kB: 1024, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[3]] ?? 1;
    this.files += 1;
    if (m[1].endsWith('.jar')) this.jars += 1;
    this.bytes += Number(m[2].replace(',', '')) * unit;
    return true;
  }

  summary(elapsedMs: number): string {
    return `${this.jars} jars, ${this.files} files, ${(this.bytes / 1024 ** 2).toFixed(1)} MB downloaded, ${Math.round(elapsedMs / 1000)} s`;
  }
}

function run(cmd: string, args: string[], cwd: string, onLine?: (line: string) => void): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    const take = (d: Buffer) => {
      output += d.toString();
      if (!onLine) return;
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** How often a Kafka download reports its progress. */
export const FETCH_PROGRESS_INTERVAL_MS = PROGRESS_INTERVAL_MS;

/**
 * Downloads the jars of a Kafka version (default: KAFKA_VERSION, else the
 * pinned default) into `.local/kafka/<version>/libs/` with Maven. Cached: when the folder is complete this returns at once, offline.
 * Returns the libs folder.
 */
export async function fetchKafka(opts: FetchKafkaOptions = {}): Promise<string> {
  const version = opts.version ?? kafkaVersion();
  const log = opts.log ?? consoleLogger;
  const libs = opts.into ?? kafkaLibsDir(version);
  if (fs.existsSync(path.join(libs, COMPLETE_MARKER))) return libs;

  return withFileLock(path.join(KAFKA_DIR, `fetch-${version}.lock`), async () => {
    if (fs.existsSync(path.join(libs, COMPLETE_MARKER))) return libs; // fetched by another process while we waited
    assertJava();
    if (!commandExists('mvn')) {
      throw new InfraError('mvn not found on PATH: install Maven 3.8+ (e.g. `apt-get install maven`), it fetches Kafka from Maven Central');
    }
    log(`kafka: fetching Apache Kafka ${version} jars from Maven Central into ${path.relative(process.cwd(), libs) || libs}`);
    const parent = path.dirname(libs);
    fs.mkdirSync(parent, { recursive: true });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-fetch-'));
    const staging = path.join(parent, `libs.tmp-${process.pid}`);
    const started = Date.now();
    const progress = new MavenDownloadProgress();
    // Maven's own output is one line per file; a summary every few seconds says more.
    const ticker = setInterval(() => log(`kafka: fetching … ${progress.summary(Date.now() - started)}`), opts.progressIntervalMs ?? FETCH_PROGRESS_INTERVAL_MS);
    try {
      fs.writeFileSync(path.join(work, 'pom.xml'), fetchPom(version));
      fs.rmSync(staging, { recursive: true, force: true });
      const { code, output } = await run(
        'mvn',
        [
          '-B',
          ...(opts.mavenRepoLocal ? [`-Dmaven.repo.local=${opts.mavenRepoLocal}`] : []),
          `${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies`,
          '-DincludeScope=runtime',
          `-DoutputDirectory=${staging}`,
        ],
        work,
        (line) => progress.take(line),
      );
      clearInterval(ticker);
      if (code !== 0) {
        const tail = output.trim().split('\n').slice(-8).join('\n');
        const network = /Could not transfer|UnknownHost|Connection refused|timed out|Network is unreachable|Connect to .* failed/i.test(output);
        const missing = /Could not find artifact/i.test(output);
        throw new InfraError(
          missing
            ? `Kafka ${version} is not on Maven Central (${kafkaArtifacts(version).join(', ')}); choose another KAFKA_VERSION (default ${DEFAULT_KAFKA_VERSION}, see libs/infra/src/versions.ts).\n${tail}`
            : network
              ? `could not download Kafka ${version} from Maven Central (network/proxy?). Check that https://repo.maven.apache.org is reachable (or configure a mirror/proxy in ~/.m2/settings.xml), then run \`npm run infra:fetch\` again.\n${tail}`
              : `mvn failed to fetch Kafka ${version} (exit ${code}); run \`npm run infra:fetch\` again to retry.\n${tail}`,
        );
      }
      const jars = fs.readdirSync(staging).filter((f) => f.endsWith('.jar'));
      for (const must of requiredJars(version)) {
        if (!jars.some((j) => j.startsWith(must))) {
          throw new InfraError(`Kafka download incomplete: ${must}* missing in ${staging}`);
        }
      }
      fs.writeFileSync(path.join(staging, COMPLETE_MARKER), `${kafkaArtifacts(version).join('\n')}\n`);
      fs.rmSync(libs, { recursive: true, force: true });
      fs.renameSync(staging, libs);
      const fromCache = progress.files === 0 ? ' (all from the local Maven cache)' : '';
      log(`kafka: fetched ${jars.length} jars in ${((Date.now() - started) / 1000).toFixed(1)} s${fromCache}; ${progress.summary(Date.now() - started)}`);
      return libs;
    } finally {
      clearInterval(ticker);
      fs.rmSync(work, { recursive: true, force: true });
      fs.rmSync(staging, { recursive: true, force: true });
      try {
        fs.rmdirSync(parent); // only if left empty by a failed fetch
      } catch {
        /* not empty: the fetched jars are there */
      }
    }
  });
}

export interface FetchKafkaOptions {
  version?: string;
  log?: Logger;
  /** Folder the jars go to (default `.local/kafka/<version>/libs`). */
  into?: string;
  /** Maven's local repository (default ~/.m2/repository): an empty one downloads everything. */
  mavenRepoLocal?: string;
  /** How often a progress line is logged while Maven runs (default PROGRESS_INTERVAL_MS, 2.5 s). */
  progressIntervalMs?: number;
}

/** Java classpath (`<libs>/*`) of a Kafka version's broker and tools; fetches the jars if missing. */
export async function kafkaToolsClasspath(opts: { version?: string; log?: Logger } = {}): Promise<string> {
  const libs = await fetchKafka(opts);
  return path.join(libs, '*');
}
