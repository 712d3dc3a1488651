import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ServiceMetrics } from './service-metrics';

@ApiTags('metrics')
@Controller()
export class MetricsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  /** Prometheus text format. */
  @Get('metrics')
  @ApiOperation({ summary: 'Metrics in the Prometheus text format' })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    content: {
      'text/plain': {
        schema: { type: 'string', example: '# HELP outbox_pending Events in the outbox not yet published\n# TYPE outbox_pending gauge\noutbox_pending 0\n' },
      },
    },
  })
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
