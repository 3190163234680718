package ingest

import "github.com/IBM/sarama"

// consumed returns the record a consumer reads for msg.
func consumed(msg *sarama.ProducerMessage) *sarama.ConsumerMessage {
	out := &sarama.ConsumerMessage{Topic: msg.Topic}
	if msg.Key != nil {
		out.Key, _ = msg.Key.Encode()
	}
	if msg.Value != nil {
		out.Value, _ = msg.Value.Encode()
	}
	for i := range msg.Headers {
		out.Headers = append(out.Headers, &msg.Headers[i])
	}
	return out
}
