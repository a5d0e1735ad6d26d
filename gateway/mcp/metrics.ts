import { Counter, Histogram, type Registry } from 'prom-client';

/** MCP tool calls on the gateway's metrics registry: by tool and outcome (ok or the error code). */
export class McpMetrics {
  private readonly calls;
  private readonly duration;

  constructor(registry: Registry) {
    const registers = [registry];
    this.calls = new Counter({
      name: 'faas_mcp_tool_calls_total',
      help: 'MCP tool calls by tool and outcome (ok or the error code)',
      labelNames: ['tool', 'outcome'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'faas_mcp_tool_call_duration_seconds',
      help: 'Time from an MCP tool call arriving to its result, queue wait included',
      labelNames: ['tool'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  call(tool: string, outcome: string, seconds: number): void {
    this.calls.inc({ tool, outcome });
    this.duration.observe({ tool }, seconds);
  }
}
