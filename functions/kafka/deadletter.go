package kafka

import (
	"strconv"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

// DeadLetter returns the record that sends msg to the dead-letter topic: msg's key, value,
// timestamp and headers unchanged, plus the event.HeaderDLQ* headers saying why (reason and
// message) and where it came from (topic, partition, offset). Earlier dead-letter headers on msg
// are replaced, so a record carries one verdict.
func DeadLetter(msg *sarama.ConsumerMessage, topic string, reason event.Reason, message string) *sarama.ProducerMessage {
	headers := make([]sarama.RecordHeader, 0, len(msg.Headers)+5)
	for _, h := range msg.Headers {
		if h != nil && !isDeadLetterHeader(string(h.Key)) {
			headers = append(headers, *h)
		}
	}
	headers = append(headers,
		sarama.RecordHeader{Key: []byte(contract.HeaderDLQReason), Value: []byte(reason)},
		sarama.RecordHeader{Key: []byte(contract.HeaderDLQMessage), Value: []byte(message)},
		sarama.RecordHeader{Key: []byte(contract.HeaderDLQTopic), Value: []byte(msg.Topic)},
		sarama.RecordHeader{Key: []byte(contract.HeaderDLQPartition), Value: []byte(strconv.Itoa(int(msg.Partition)))},
		sarama.RecordHeader{Key: []byte(contract.HeaderDLQOffset), Value: []byte(strconv.FormatInt(msg.Offset, 10))},
	)
	out := &sarama.ProducerMessage{Topic: topic, Headers: headers, Timestamp: msg.Timestamp}
	if msg.Key != nil {
		out.Key = sarama.ByteEncoder(msg.Key)
	}
	if msg.Value != nil {
		out.Value = sarama.ByteEncoder(msg.Value)
	}
	return out
}

func isDeadLetterHeader(key string) bool {
	switch key {
	case contract.HeaderDLQReason, contract.HeaderDLQMessage, contract.HeaderDLQTopic, contract.HeaderDLQPartition, contract.HeaderDLQOffset:
		return true
	}
	return false
}
