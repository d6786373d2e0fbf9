/**
 * A minimal DNS server on 127.0.0.1 for tests: answers PTR queries from a fixed table
 * (address → name), NXDOMAIN otherwise, or nothing at all when `silent` (to test timeouts).
 */
import dgram from 'node:dgram';

export interface TestDns {
  server: string;
  queries: string[];
  close(): Promise<void>;
}

function reverseName(address: string): string {
  return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

export async function startTestDns(names: Record<string, string>, options: { silent?: boolean } = {}): Promise<TestDns> {
  const byQuestion = new Map(Object.entries(names).map(([address, name]) => [reverseName(address), name]));
  const socket = dgram.createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (query, remote) => {
    if (query.length < 12) return;
    let offset = 12;
    const labels: string[] = [];
    while (offset < query.length && query[offset] !== 0) {
      labels.push(query.toString('ascii', offset + 1, offset + 1 + query[offset]));
      offset += 1 + query[offset];
    }
    const questionEnd = offset + 5;
    const question = labels.join('.').toLowerCase();
    queries.push(question);
    if (options.silent) return;
    const answerName = byQuestion.get(question);
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header.writeUInt16BE(answerName ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answerName ? 1 : 0, 6);
    const parts: Buffer[] = [header, Buffer.from(query.subarray(12, questionEnd))];
    if (answerName) {
      const rdata = encodeName(answerName);
      const answer = Buffer.alloc(12);
      answer.writeUInt16BE(0xc00c, 0);
      answer.writeUInt16BE(12, 2); // PTR
      answer.writeUInt16BE(1, 4); // IN
      answer.writeUInt32BE(60, 6);
      answer.writeUInt16BE(rdata.length, 10);
      parts.push(answer, rdata);
    }
    socket.send(Buffer.concat(parts), remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
