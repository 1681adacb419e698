// ABI fragments of the calls the checkout makes (viem does the encoding). Checked against the real contracts
// by tests/test_wallet_browser.py (our PaymentStream from integrations/blockchain/artifacts, Sablier V2
// LockupLinear from @sablier/v2-core 1.2.0).
export const erc20Abi = [
  { type: "function", name: "allowance", stateMutability: "view", inputs: [{ name: "owner", type: "address" }, { name: "spender", type: "address" }], outputs: [{ type: "uint256" }] },
  { type: "function", name: "balanceOf", stateMutability: "view", inputs: [{ name: "who", type: "address" }], outputs: [{ type: "uint256" }] },
  { type: "function", name: "approve", stateMutability: "nonpayable", inputs: [{ name: "spender", type: "address" }, { name: "value", type: "uint256" }], outputs: [{ type: "bool" }] },
  { type: "function", name: "transfer", stateMutability: "nonpayable", inputs: [{ name: "to", type: "address" }, { name: "value", type: "uint256" }], outputs: [{ type: "bool" }] },
  { type: "event", name: "Transfer", inputs: [{ name: "from", type: "address", indexed: true }, { name: "to", type: "address", indexed: true }, { name: "value", type: "uint256", indexed: false }] },
];

export const paymentStreamAbi = [
  { type: "function", name: "createStream", stateMutability: "nonpayable",
    inputs: [{ name: "recipient", type: "address" }, { name: "deposit", type: "uint256" }, { name: "tokenAddress", type: "address" }, { name: "startTime", type: "uint256" }, { name: "stopTime", type: "uint256" }],
    outputs: [{ name: "streamId", type: "uint256" }] },
  { type: "event", name: "CreateStream",
    inputs: [{ name: "streamId", type: "uint256", indexed: true }, { name: "sender", type: "address", indexed: true }, { name: "recipient", type: "address", indexed: true },
      { name: "deposit", type: "uint256", indexed: false }, { name: "tokenAddress", type: "address", indexed: false }, { name: "startTime", type: "uint256", indexed: false }, { name: "stopTime", type: "uint256", indexed: false }] },
];

export const sablierLockupLinearAbi = [
  { type: "function", name: "createWithDurations", stateMutability: "nonpayable",
    inputs: [{ name: "params", type: "tuple", components: [
      { name: "sender", type: "address" }, { name: "recipient", type: "address" }, { name: "totalAmount", type: "uint128" }, { name: "asset", type: "address" },
      { name: "cancelable", type: "bool" }, { name: "transferable", type: "bool" },
      { name: "durations", type: "tuple", components: [{ name: "cliff", type: "uint40" }, { name: "total", type: "uint40" }] },
      { name: "broker", type: "tuple", components: [{ name: "account", type: "address" }, { name: "fee", type: "uint256" }] },
    ] }],
    outputs: [{ name: "streamId", type: "uint256" }] },
  { type: "event", name: "CreateLockupLinearStream",
    inputs: [{ name: "streamId", type: "uint256", indexed: false }, { name: "funder", type: "address", indexed: false }, { name: "sender", type: "address", indexed: true },
      { name: "recipient", type: "address", indexed: true },
      { name: "amounts", type: "tuple", indexed: false, components: [{ name: "deposit", type: "uint128" }, { name: "brokerFee", type: "uint128" }] },
      { name: "asset", type: "address", indexed: true }, { name: "cancelable", type: "bool", indexed: false }, { name: "transferable", type: "bool", indexed: false },
      { name: "timestamps", type: "tuple", indexed: false, components: [{ name: "start", type: "uint40" }, { name: "cliff", type: "uint40" }, { name: "end", type: "uint40" }] },
      { name: "broker", type: "address", indexed: false }] },
];
