// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IERC20Minimal {
    function balanceOf(address who) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title PaymentStream: continuous token payments in the EIP-1620 / Sablier v1 shape.
/// @notice The deposit must be an exact multiple of the duration (stopTime - startTime), so the
/// rate per second is a whole number and nothing is left over when the stream ends.
/// Streams are never deleted: after a cancel or a full withdrawal `getStream` still answers,
/// with `remainingBalance` 0 and `cancelled` telling the two apart.
contract PaymentStream {
    struct Stream {
        address sender;
        address recipient;
        address token;
        uint256 deposit;
        uint256 ratePerSecond;
        uint256 remainingBalance;
        uint256 startTime;
        uint256 stopTime;
        bool cancelled;
        bool exists;
    }

    /// Ids start at 1; do not assume it elsewhere.
    uint256 public nextStreamId = 1;
    mapping(uint256 => Stream) private streams;
    uint256 private locked = 1;

    event CreateStream(
        uint256 indexed streamId,
        address indexed sender,
        address indexed recipient,
        uint256 deposit,
        address tokenAddress,
        uint256 startTime,
        uint256 stopTime
    );
    event WithdrawFromStream(uint256 indexed streamId, address indexed recipient, uint256 amount);
    event CancelStream(
        uint256 indexed streamId,
        address indexed sender,
        address indexed recipient,
        uint256 senderBalance,
        uint256 recipientBalance
    );

    modifier nonReentrant() {
        require(locked == 1, "reentrant call");
        locked = 2;
        _;
        locked = 1;
    }

    modifier streamExists(uint256 streamId) {
        require(streams[streamId].exists, "stream does not exist");
        _;
    }

    function createStream(address recipient, uint256 deposit, address tokenAddress, uint256 startTime, uint256 stopTime)
        external
        nonReentrant
        returns (uint256 streamId)
    {
        require(recipient != address(0), "stream to the zero address");
        require(recipient != address(this), "stream to the contract itself");
        require(recipient != msg.sender, "stream to the caller");
        require(deposit > 0, "deposit is zero");
        require(startTime >= block.timestamp, "start time before block.timestamp");
        require(stopTime > startTime, "stop time before the start time");
        uint256 duration = stopTime - startTime;
        require(deposit >= duration, "deposit smaller than time delta");
        require(deposit % duration == 0, "deposit not multiple of time delta");

        streamId = nextStreamId;
        nextStreamId = streamId + 1;
        streams[streamId] = Stream({
            sender: msg.sender,
            recipient: recipient,
            token: tokenAddress,
            deposit: deposit,
            ratePerSecond: deposit / duration,
            remainingBalance: deposit,
            startTime: startTime,
            stopTime: stopTime,
            cancelled: false,
            exists: true
        });
        emit CreateStream(streamId, msg.sender, recipient, deposit, tokenAddress, startTime, stopTime);

        // Fee-on-transfer tokens would break the accounting: require the full deposit to arrive.
        uint256 before = IERC20Minimal(tokenAddress).balanceOf(address(this));
        _safeTransferFrom(tokenAddress, msg.sender, address(this), deposit);
        require(IERC20Minimal(tokenAddress).balanceOf(address(this)) - before == deposit, "deposit not received in full");
    }

    function getStream(uint256 streamId)
        external
        view
        streamExists(streamId)
        returns (
            address sender,
            address recipient,
            uint256 deposit,
            address tokenAddress,
            uint256 startTime,
            uint256 stopTime,
            uint256 remainingBalance,
            uint256 ratePerSecond,
            bool cancelled
        )
    {
        Stream storage s = streams[streamId];
        return (s.sender, s.recipient, s.deposit, s.token, s.startTime, s.stopTime, s.remainingBalance, s.ratePerSecond, s.cancelled);
    }

    /// Seconds streamed so far, capped at the duration.
    function deltaOf(uint256 streamId) public view streamExists(streamId) returns (uint256) {
        Stream storage s = streams[streamId];
        if (block.timestamp <= s.startTime) return 0;
        if (block.timestamp < s.stopTime) return block.timestamp - s.startTime;
        return s.stopTime - s.startTime;
    }

    /// What `who` could take out of the stream now (recipient: streamed minus withdrawn; sender: the rest).
    function balanceOf(uint256 streamId, address who) public view streamExists(streamId) returns (uint256) {
        Stream storage s = streams[streamId];
        if (s.cancelled) return 0;
        uint256 streamed = deltaOf(streamId) * s.ratePerSecond;
        uint256 withdrawn = s.deposit - s.remainingBalance;
        uint256 recipientBalance = streamed - withdrawn;
        if (who == s.recipient) return recipientBalance;
        if (who == s.sender) return s.remainingBalance - recipientBalance;
        return 0;
    }

    function withdrawFromStream(uint256 streamId, uint256 amount) external nonReentrant streamExists(streamId) returns (bool) {
        Stream storage s = streams[streamId];
        require(msg.sender == s.sender || msg.sender == s.recipient, "caller is not the sender or the recipient");
        require(!s.cancelled, "stream cancelled");
        require(amount > 0, "amount is zero");
        require(balanceOf(streamId, s.recipient) >= amount, "amount exceeds the available balance");

        s.remainingBalance -= amount;
        emit WithdrawFromStream(streamId, s.recipient, amount);
        _safeTransfer(s.token, s.recipient, amount);
        return true;
    }

    function cancelStream(uint256 streamId) external nonReentrant streamExists(streamId) returns (bool) {
        Stream storage s = streams[streamId];
        require(msg.sender == s.sender || msg.sender == s.recipient, "caller is not the sender or the recipient");
        require(!s.cancelled, "stream cancelled");

        uint256 recipientBalance = balanceOf(streamId, s.recipient);
        uint256 senderBalance = s.remainingBalance - recipientBalance;
        s.cancelled = true;
        s.remainingBalance = 0;
        emit CancelStream(streamId, s.sender, s.recipient, senderBalance, recipientBalance);
        if (recipientBalance > 0) _safeTransfer(s.token, s.recipient, recipientBalance);
        if (senderBalance > 0) _safeTransfer(s.token, s.sender, senderBalance);
        return true;
    }

    // Tokens that return nothing (USDT-style) are accepted; tokens that return false are not.
    function _safeTransfer(address token, address to, uint256 value) private {
        (bool ok, bytes memory data) = token.call(abi.encodeWithSelector(IERC20Minimal.transfer.selector, to, value));
        require(ok && (data.length == 0 || abi.decode(data, (bool))), "token transfer failed");
    }

    function _safeTransferFrom(address token, address from, address to, uint256 value) private {
        (bool ok, bytes memory data) =
            token.call(abi.encodeWithSelector(IERC20Minimal.transferFrom.selector, from, to, value));
        require(ok && (data.length == 0 || abi.decode(data, (bool))), "token transferFrom failed");
    }
}
