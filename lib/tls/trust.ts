/**
 * The CAs and CRLs to trust: a hashed CA directory (IGTF style: `<hash>.N` CA certificates, `<hash>.rN`
 * CRLs, as `openssl rehash` and fetch-crl leave them) and a CA file. A directory is read once per process
 * and read again only when one of its entries changed (fetch-crl renews CRLs several times a day).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CredentialError } from './errors';

const CA_NAME = /^[0-9a-f]{8}\.\d+$/;
const CRL_NAME = /^[0-9a-f]{8}\.r\d+$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

export interface PemBlock {
  /** "CERTIFICATE", "PRIVATE KEY", "RSA PRIVATE KEY", "X509 CRL"... */
  label: string;
  text: string;
}

/** The PEM blocks of a text, in order. */
export function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((match) => ({ label: match[1], text: `${match[0]}\n` }));
}

export interface CaDirectory {
  directory: string;
  /** PEM certificates, one per `<hash>.N` file. */
  certificates: string[];
  /** PEM CRLs, one per `<hash>.rN` file. */
  crls: string[];
  /** The CRL files' names, for messages. */
  crlFiles: string[];
}

const cache = new Map<string, { signature: string; value: CaDirectory }>();

/** Reads a hashed CA directory; `setting` names where its path came from, for errors. */
export function readCaDirectory(directory: string, setting: string): CaDirectory {
  let names: string[];
  try {
    names = readdirSync(directory).filter((name) => CA_NAME.test(name) || CRL_NAME.test(name)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CredentialError(
      code === 'ENOENT' ? `${setting}: the CA directory ${directory} does not exist (install the IGTF CA bundle, or set ca_dir)` : `${setting}: cannot read the CA directory ${directory}: ${(error as Error).message}`,
    );
  }
  // The entries' change times and sizes: a renewed CRL or an added CA changes this signature.
  const signature = names
    .map((name) => {
      try {
        const stat = statSync(path.join(directory, name));
        return `${name}:${stat.mtimeMs}:${stat.size}`;
      } catch {
        return `${name}:gone`;
      }
    })
    .join('|');
  const cached = cache.get(directory);
  if (cached && cached.signature === signature) return cached.value;
  const value: CaDirectory = { directory, certificates: [], crls: [], crlFiles: [] };
  for (const name of names) {
    let text: string;
    try {
      text = readFileSync(path.join(directory, name), 'utf8');
    } catch {
      continue; // a dangling <hash>.N link of a removed CA: no CA to trust
    }
    const crl = CRL_NAME.test(name);
    const blocks = pemBlocks(text).filter((block) => block.label === (crl ? 'X509 CRL' : 'CERTIFICATE'));
    if (crl) {
      value.crls.push(...blocks.map((block) => block.text));
      if (blocks.length) value.crlFiles.push(name);
    } else {
      value.certificates.push(...blocks.map((block) => block.text));
    }
  }
  if (!value.certificates.length) throw new CredentialError(`${setting}: the CA directory ${directory} holds no CA certificates (<hash>.N files): run openssl rehash ${directory}, or set ca_dir`);
  cache.set(directory, { signature, value });
  return value;
}

/** The certificates of a CA file (PEM, one or more). */
export function readCaFile(file: string, setting: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CredentialError(code === 'ENOENT' ? `${setting}: the CA file ${file} does not exist` : `${setting}: cannot read the CA file ${file}: ${(error as Error).message}`);
  }
  const certificates = pemBlocks(text).filter((block) => block.label === 'CERTIFICATE').map((block) => block.text);
  if (!certificates.length) throw new CredentialError(`${setting}: the CA file ${file} holds no PEM certificate`);
  return certificates;
}
