import { isUUID } from 'class-validator';
import { paymentIdFor } from './payment-id';

describe('paymentIdFor', () => {
  it('gives an order the same payment id every time, and different orders different ids', () => {
    const order = '3f2b8c1e-5a6d-4e7f-8a9b-0c1d2e3f4a5b';
    expect(paymentIdFor(order)).toBe(paymentIdFor(order));
    expect(paymentIdFor(order)).not.toBe(paymentIdFor('3f2b8c1e-5a6d-4e7f-8a9b-0c1d2e3f4a5c'));
  });

  it('is a valid version-5 UUID, as the payment events require', () => {
    const id = paymentIdFor('3f2b8c1e-5a6d-4e7f-8a9b-0c1d2e3f4a5b');
    expect(isUUID(id)).toBe(true);
    expect(id[14]).toBe('5');
  });
});
