import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/paths';
import { TEST_TOKEN } from '../../test/support/gateway';
import { useInfluxAndGateway } from '../../test/support/fixtures';
import { testDir } from '../../test/support/services';
import { validateFile } from '../delivery/commands';

const servers = useInfluxAndGateway();
const slot = Math.floor(Date.now() / 600_000) * 600_000 - 3_600_000;

function document(fields: Record<string, unknown>, timestamp?: number): Record<string, unknown> {
  return { producer: 'collide-check', type: 'm', ...(timestamp === undefined ? {} : { timestamp }), idb_tags: ['k'], k: 'one', ...fields };
}

/** The gateway's refusals of `documents` sent as one request: index → reason. */
async function gatewayRefusals(documents: unknown[]): Promise<Map<number, string>> {
  const response = await fetch(`${servers.gateway.url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKEN}` },
    body: JSON.stringify(documents),
  });
  const answer = (await response.json()) as { rejected: Array<{ index: number; reason: string }> };
  return new Map(answer.rejected.map((rejection) => [rejection.index, rejection.reason]));
}

function fileOf(documents: unknown[]): string {
  const file = path.join(testDir('validate-collisions'), 'documents.json');
  writeFileSync(file, JSON.stringify(documents));
  return file;
}

describe('validate applies the gateway\'s same-series-and-time rule', () => {
  it('three documents of one series without a timestamp: validate refuses #1 and #2 with the gateway\'s reason and says what send would do', async () => {
    const documents = [document({ x: 1 }), document({ x: 2 }), document({ y: 3 })];
    const refusals = await gatewayRefusals(documents);
    expect([...refusals.keys()]).toEqual([1, 2]);
    const { problems } = validateFile(fileOf(documents));
    expect(problems).toHaveLength(2);
    problems.forEach((problem, at) => {
      const index = at + 1;
      expect(problem.startsWith(`document at index ${index} (counting from 0): ${refusals.get(index)} (it has no timestamp: \`send\` stamps`)).toBe(true);
      expect(problem).toMatch(/give each document its own timestamp\)$/);
    });
    expect(refusals.get(1)).toBe("same series and time as document #0: InfluxDB would merge them into one point (overwriting field 'x')");
    expect(refusals.get(2)).toBe("same series and time as document #0: InfluxDB would merge them into one point (adding field 'y' to it)");
  });

  it('with timestamps: the same reason word for word; an exact repeat and another time pass both', async () => {
    const documents = [document({ x: 1 }, slot), document({ x: 1 }, slot), document({ x: 5 }, slot + 1), document({ y: 2 }, slot)];
    const refusals = await gatewayRefusals(documents);
    expect([...refusals.keys()]).toEqual([3]);
    expect(validateFile(fileOf(documents)).problems).toEqual([`document at index 3 (counting from 0): ${refusals.get(3)}`]);
  });

  it('`./run.sh validate` exits 1 on the colliding file instead of calling it valid', () => {
    const file = fileOf([document({ x: 1 }), document({ x: 2 }), document({ x: 3 })]);
    const result = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'validate', file], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).not.toMatch(/documents valid/);
    expect(result.stderr).toMatch(/^document at index 1 \(counting from 0\): same series and time as document #0: /m);
    expect(result.stderr).toMatch(/^document at index 2 \(counting from 0\): same series and time as document #0: /m);
  });
});
