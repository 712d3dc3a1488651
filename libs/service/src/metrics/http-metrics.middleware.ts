import type { NextFunction, Request, Response } from 'express';
import { ServiceMetrics } from './service-metrics';

/** Counts and times every HTTP request by method, route pattern (not raw URL: ids would explode the series) and status. */
export function httpMetricsMiddleware(metrics: ServiceMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const stop = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      stop({ method: req.method, route });
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
